"""`affcurate run`: a recipe (TOML, schema in schemas/recipe.schema.json) executed end to end.

A recipe names the stages of one curation and their settings: ingest, import, merge, split, report, train.
Stages run in that order; a stage whose inputs and settings have not changed since it last finished is
skipped, so a rerun resumes where the previous one stopped. Per-video stages run on the chosen executor
(local processes or Ray) with identical outputs.

Before anything is written, every input that can be checked up front is checked (the recipe, the names that
become paths, the variables, the files it reads, the formats; see :mod:`affcurate.recipe_stages`), and the
whole run holds the workspace's writer lock. Progress goes to a :data:`affcurate.executor.Progress` callback
and stage events to ``on_stage``; the runner prints nothing.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress, current_progress
from affcurate.lock import writer_lock
from affcurate.names import check_name
from affcurate.recipe_stages import (
    STAGE_FUNCTIONS,
    STAGES,
    Recipe,
    StageContext,
    check_inputs,
    expand,
    input_fingerprint,
)
from affcurate.settings import (
    DATA,
    Settings,
    load_schema,
    read_toml,
    schema_error,
    settings_from_dict,
    toml_line,
)
from affcurate.workspace import SETTINGS_FILE, Workspace, stage_key

__all__ = ["STAGES", "Recipe", "RunResult", "StagePlan", "apply_settings", "bundled_recipes", "expand",
           "load_recipe", "plan", "run"]


@dataclass
class StagePlan:
    name: str
    config: dict[str, Any]
    key: str
    done: bool


StageEvent = Callable[[StagePlan, str], None]
"""Told ``(stage, "skipped" | "started" | "finished")`` as a recipe runs."""


@dataclass
class RunResult:
    recipe: Recipe
    plan: list[StagePlan]
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failed_videos: int = 0


def bundled_recipes() -> dict[str, Path]:
    """The recipes shipped with affcurate (the repository's pipelines/), by name."""
    folder = Path(str(DATA / "pipelines"))
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def find_recipe(value: str | Path) -> Path:
    """A recipe file, or the name of a bundled recipe (``demo`` for pipelines/demo.toml)."""
    path = Path(value)
    if path.is_file():  # a folder of the same name (pipelines/demo/) is not the recipe
        return path
    bundled = bundled_recipes()
    if str(value) in bundled:
        return bundled[str(value)]
    raise AffcurateError(f"{path}: recipe not found; give a recipe file or one of the bundled recipes: "
                         f"{', '.join(bundled)}")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file; every error names the file (and line) and what was expected."""
    path = find_recipe(path)
    try:
        data, text = read_toml(path, "recipe")
    except FileNotFoundError:
        raise AffcurateError(f"{path}: recipe not found") from None
    error = schema_error(load_schema("recipe"), data, path, text, "recipe at")
    if error:
        raise error
    settings = data.get("settings", {})
    settings_from_dict(settings, source=path, text=text, prefix=("settings",))  # validated like affcurate.toml
    meta = data["recipe"]
    check_name(meta["name"], "recipe name", f"{path}:{toml_line(text, ['recipe', 'name'])}")
    return Recipe(
        path=path.resolve(), name=meta["name"], title=meta.get("title", meta["name"]),
        description=meta.get("description", ""), settings=settings,
        stages={s: data[s] for s in STAGES if s in data}, demo_labels=bool(meta.get("demo_labels", False)),
        text=text,
    )


def recipe_settings(settings: Settings, recipe: Recipe) -> Settings:
    """``settings`` with the recipe's settings on top (the recipe wins), validated."""
    data = settings.to_dict()
    for section, values in recipe.settings.items():
        data[section].update(values)
    return settings_from_dict(data, source=recipe.path)


def apply_settings(ws: Workspace, recipe: Recipe) -> Workspace:
    """Write the recipe's settings into the workspace (the recipe wins over what was there)."""
    new = recipe_settings(ws.settings, recipe)
    if new != ws.settings:
        ws.save_settings(new)
        ws = Workspace.open(ws.root)
    return ws


def plan(ws: Workspace, recipe: Recipe, settings: Settings | None = None) -> list[StagePlan]:
    """The stages in order, each with the key of its inputs and settings and whether it is already done.
    ``settings`` (default: the workspace's) are the ones the stages will run with."""
    out: list[StagePlan] = []
    upstream = ""
    values = (settings or ws.settings).to_dict()
    for name in STAGES:
        if name not in recipe.stages:
            continue
        config = recipe.stages[name]
        key = stage_key(name, config, values, upstream, input_fingerprint(recipe, name, config))
        entry = _read_done(ws, recipe, name)
        done = entry is not None and entry.get("key") == key and _outputs_exist(ws, name)
        out.append(StagePlan(name, config, key, done))
        upstream = key
    return out


def _done_path(ws: Workspace, recipe: Recipe, stage: str) -> Path:
    return ws.state_dir / "run" / recipe.name / f"{stage}.json"


def _read_done(ws: Workspace, recipe: Recipe, stage: str) -> dict[str, Any] | None:
    p = _done_path(ws, recipe, stage)
    try:
        return io.read_json(p) if p.exists() else None
    except ValueError:  # a damaged entry means the stage runs again
        return None


def _identities_exist(ws: Workspace) -> bool:
    from affcurate.identity import has_identities

    return has_identities(ws)


def _outputs_exist(ws: Workspace, stage: str) -> bool:
    return {
        "ingest": ws.has_manifest(),  # videos, or image sets (whose faces come with their shards)
        "faces": ws.faces_status_path.exists() or (ws.images_path.exists() and not ws.manifest_path.exists()),
        "subjects": _identities_exist(ws),
        "import": ws.annotations_dir.exists(),
        "merge": ws.labels_path.exists(),
        "split": ws.splits_path.exists(),
        "report": (ws.reports_dir / "report.html").exists(),
        "train": ws.runs_dir.exists(),
    }[stage]


def _quiet_stage(stage: StagePlan, event: str) -> None:
    """No stage events wanted."""


def run(
    recipe_path: str | Path,
    workspace: str | Path,
    *,
    spec: ExecutorSpec | None = None,
    variables: dict[str, str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    on_stage: StageEvent | None = None,
) -> RunResult:
    """Run a recipe on a workspace (created if missing), skipping stages that are already done.

    Nothing is written before the recipe, the workspace's settings and every input that can be checked up
    front have been; ``dry_run`` checks and plans, and writes nothing."""
    recipe = load_recipe(recipe_path)
    variables = variables or {}
    spec = spec or ExecutorSpec()
    root = Path(workspace)
    existing = Workspace.open(root) if (root / SETTINGS_FILE).exists() else None
    settings = recipe_settings(existing.settings if existing else Settings(), recipe)
    check_inputs(recipe, variables, settings)
    if dry_run:
        stages = (plan(existing, recipe, settings) if existing else
                  [StagePlan(n, recipe.stages[n], "", False) for n in STAGES if n in recipe.stages])
        return RunResult(recipe, stages)
    on_stage = on_stage or _quiet_stage
    ctx = StageContext(spec, variables, progress or current_progress())
    created = not root.exists()  # a run that fails before any stage finished leaves no new workspace
    finished: list[str] = []
    try:
        with writer_lock(root, "affcurate run"):
            ws = apply_settings(Workspace.init(root, settings), recipe)
            result = RunResult(recipe, plan(ws, recipe))
            for stage in result.plan:
                if stage.done and not force:
                    result.skipped.append(stage.name)
                    on_stage(stage, "skipped")
                    continue
                on_stage(stage, "started")
                t0 = time.perf_counter()
                out = STAGE_FUNCTIONS[stage.name](ws, recipe, stage.config, ctx)
                result.seconds[stage.name] = time.perf_counter() - t0
                result.outputs[stage.name] = out
                result.ran.append(stage.name)
                if stage.name == "ingest":
                    result.failed_videos = out.n_failed
                elif stage.name == "faces":
                    result.failed_videos += int((out["status"] == "error").sum())
                io.write_json(_done_path(ws, recipe, stage.name),
                              {"key": stage.key, "seconds": result.seconds[stage.name]})
                finished.append(stage.name)
                on_stage(stage, "finished")
    except Exception:
        if created and not finished:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return result
