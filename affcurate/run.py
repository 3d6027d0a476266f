"""`affcurate run`: a recipe (TOML, schema in schemas/recipe.schema.json) executed end to end.

A recipe names the stages of one curation and their settings: ingest, import, merge, split, report, train.
Stages run in that order; a stage whose inputs and settings have not changed since it last finished is
skipped, so a rerun resumes where the previous one stopped. Per-video stages run on the chosen executor
(local processes or Ray) with identical outputs.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import tomllib
from rich.console import Console

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.executor import ExecutorSpec
from affcurate.samples import samples_dir
from affcurate.settings import Settings, load_schema, settings_from_dict
from affcurate.workspace import Workspace, stage_key

STAGES = ("ingest", "import", "merge", "split", "report", "train")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Recipe:
    path: Path
    name: str
    title: str
    description: str
    settings: dict[str, dict[str, Any]]
    stages: dict[str, dict[str, Any]]
    demo_labels: bool = False

    @property
    def folder(self) -> Path:
        return self.path.parent


@dataclass
class StagePlan:
    name: str
    config: dict[str, Any]
    key: str
    done: bool


@dataclass
class RunResult:
    recipe: Recipe
    plan: list[StagePlan]
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failed_videos: int = 0


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file; every error names the file and what was expected."""
    path = Path(path)
    if not path.exists():
        raise AffcurateError(f"{path}: recipe not found (the bundled recipes are in pipelines/)")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML ({exc})") from None
    validator = jsonschema.Draft202012Validator(load_schema("recipe"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise InputError(path, f"invalid recipe at {where}: {err.message}")
    settings = data.get("settings", {})
    settings_from_dict(settings, source=f"{path} [settings]")  # validated like affcurate.toml
    meta = data["recipe"]
    return Recipe(
        path=path.resolve(), name=meta["name"], title=meta.get("title", meta["name"]),
        description=meta.get("description", ""), settings=settings,
        stages={s: data[s] for s in STAGES if s in data}, demo_labels=bool(meta.get("demo_labels", False)),
    )


def expand(text: str, variables: dict[str, str], where: str) -> str:
    """Replace ``${NAME}`` from the variables (``--var``), then the environment; ``${SAMPLES}`` is the
    sample-media folder."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        if name == "SAMPLES":
            return str(samples_dir())
        raise AffcurateError(f"{where}: ${{{name}}} is not set; pass --var {name}=PATH or set it in the environment")

    return _VAR.sub(sub, text)


def _resolve(recipe: Recipe, value: str, variables: dict[str, str], where: str) -> Path:
    p = Path(expand(value, variables, where))
    return p if p.is_absolute() else (recipe.folder / p)


def apply_settings(ws: Workspace, recipe: Recipe) -> Workspace:
    """Write the recipe's settings into the workspace (the recipe wins over what was there)."""
    data = ws.settings.to_dict()
    for section, values in recipe.settings.items():
        data[section].update(values)
    new = settings_from_dict(data, source=str(recipe.path))
    if new != ws.settings:
        ws.save_settings(new)
        ws = Workspace.open(ws.root)
    return ws


def plan(ws: Workspace, recipe: Recipe) -> list[StagePlan]:
    """The stages in order, each with the key of its inputs and settings and whether it is already done."""
    out: list[StagePlan] = []
    upstream = ""
    settings = ws.settings.to_dict()
    for name in STAGES:
        if name not in recipe.stages:
            continue
        config = recipe.stages[name]
        key = stage_key(name, config, settings, upstream, _input_fingerprint(recipe, name, config))
        entry = _read_done(ws, recipe, name)
        done = entry is not None and entry.get("key") == key and _outputs_exist(ws, name)
        out.append(StagePlan(name, config, key, done))
        upstream = key
    return out


def _input_fingerprint(recipe: Recipe, name: str, config: dict[str, Any]) -> Any:
    """Files a stage reads from outside the workspace: their names, sizes and times."""
    files: list[Path] = []
    if name == "import":
        for src in config.get("sources", []):
            for p in src.get("paths", []):
                q = recipe.folder / p if "${" not in p else None
                if q is not None and q.exists():
                    files.extend(sorted(q.rglob("*")) if q.is_dir() else [q])
    if name == "ingest" and "list" in config and "${" not in config["list"]:
        files.append(recipe.folder / config["list"])
    return [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]


def _done_path(ws: Workspace, recipe: Recipe, stage: str) -> Path:
    return ws.state_dir / "run" / recipe.name / f"{stage}.json"


def _read_done(ws: Workspace, recipe: Recipe, stage: str) -> dict[str, Any] | None:
    p = _done_path(ws, recipe, stage)
    return io.read_json(p) if p.exists() else None


def _outputs_exist(ws: Workspace, stage: str) -> bool:
    return {
        "ingest": ws.manifest_path.exists(),
        "import": ws.annotations_dir.exists(),
        "merge": ws.labels_path.exists(),
        "split": ws.splits_path.exists(),
        "report": (ws.reports_dir / "report.html").exists(),
        "train": ws.runs_dir.exists(),
    }[stage]


# ---- the stages ----------------------------------------------------------------------------------------

def _stage_ingest(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                  variables: dict[str, str]) -> Any:
    from affcurate.media.ingest import ingest

    videos = list_csv = None
    if "videos" in cfg:
        videos = _resolve(recipe, cfg["videos"], variables, f"{recipe.path} [ingest] videos")
    if "list" in cfg:
        list_csv = _expanded_list(ws, recipe, cfg["list"], variables)
    result = ingest(ws, videos, list_csv, subject_from=cfg.get("subject_from"),
                    label_from_folder=cfg.get("label_from_folder", False), image_fps=cfg.get("image_fps"),
                    spec=spec, faces=cfg.get("faces", True))
    return result


def _expanded_list(ws: Workspace, recipe: Recipe, value: str, variables: dict[str, str]) -> Path:
    """The recipe's list file with ``${VAR}`` expanded in its paths, copied into the workspace."""
    src = _resolve(recipe, value, variables, f"{recipe.path} [ingest] list")
    if not src.exists():
        raise AffcurateError(f"{recipe.path}: [ingest] list {src} not found")
    rows = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines()))
    if not rows or "path" not in rows[0]:
        raise InputError(src, "header has no 'path' column", 1)
    col = rows[0].index("path")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) > col:
            p = Path(expand(row[col], variables, f"{src}:{i}"))
            row[col] = str(p if p.is_absolute() else (src.parent / p).resolve())
    out = ws.state_dir / "run" / recipe.name / "videos.csv"
    with io.atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return out


def _stage_import(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                  variables: dict[str, str]) -> Any:
    from affcurate.labels.formats import import_files

    reports = []
    for i, src in enumerate(cfg.get("sources", [])):
        where = f"{recipe.path} [import] sources[{i}]"
        paths = [_resolve(recipe, p, variables, where) for p in src["paths"]]
        reports.append(import_files(ws, src["format"], paths, annotator=src.get("annotator"),
                                    task=src.get("task")))
    return reports


def _stage_merge(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                 variables: dict[str, str]) -> Any:
    from affcurate.labels.merge import merge

    return merge(ws, **{k: v for k, v in cfg.items() if k != "disagreements"},
                 spec=spec if spec.kind == "ray" or spec.jobs > 1 else "auto")


def _stage_split(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                 variables: dict[str, str]) -> Any:
    from affcurate.split import split

    return split(ws, **cfg)


def _stage_report(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                  variables: dict[str, str]) -> Any:
    from affcurate.report import report

    return report(ws, **cfg)


def _stage_train(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], spec: ExecutorSpec,
                 variables: dict[str, str]) -> Any:
    from affcurate.train.runner import train_baseline

    return train_baseline(ws, **cfg)


STAGE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ingest": _stage_ingest,
    "import": _stage_import,
    "merge": _stage_merge,
    "split": _stage_split,
    "report": _stage_report,
    "train": _stage_train,
}


def run(
    recipe_path: str | Path,
    workspace: str | Path,
    *,
    spec: ExecutorSpec | None = None,
    variables: dict[str, str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    console: Console | None = None,
) -> RunResult:
    """Run a recipe on a workspace (created if missing), skipping stages that are already done."""
    console = console or Console()
    recipe = load_recipe(recipe_path)
    variables = variables or {}
    spec = spec or ExecutorSpec()
    root = Path(workspace)
    if dry_run and not (root / "affcurate.toml").exists():
        ws = None
        stages = [StagePlan(n, recipe.stages[n], "", False) for n in STAGES if n in recipe.stages]
    else:
        ws = apply_settings(Workspace.init(root, Settings()), recipe)
        stages = plan(ws, recipe)
    result = RunResult(recipe, stages)
    if dry_run:
        return result
    assert ws is not None
    for stage in stages:
        if stage.done and not force:
            result.skipped.append(stage.name)
            console.print(f"[dim]✓ {stage.name}: done before, skipped[/]")
            continue
        console.rule(f"[bold]{stage.name}")
        t0 = time.perf_counter()
        out = STAGE_FUNCTIONS[stage.name](ws, recipe, stage.config, spec, variables)
        result.seconds[stage.name] = time.perf_counter() - t0
        result.outputs[stage.name] = out
        result.ran.append(stage.name)
        if stage.name == "ingest":
            result.failed_videos = out.n_failed
        io.write_json(_done_path(ws, recipe, stage.name), {"key": stage.key, "seconds": result.seconds[stage.name]})
    return result
