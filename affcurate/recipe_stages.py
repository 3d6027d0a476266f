"""The stages of a recipe: what each reads from the recipe, the checks made before any of them runs, and the
call of the library function that does the work (see :mod:`affcurate.recipe`)."""

from __future__ import annotations

import csv
import io as text_io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.executor import ExecutorSpec, Progress
from affcurate.names import check_name
from affcurate.samples import samples_dir
from affcurate.settings import Settings, read_text, toml_line
from affcurate.workspace import Workspace

STAGES = ("ingest", "faces", "subjects", "import", "merge", "split", "report", "train")
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
    text: str = field(default="", repr=False, compare=False)
    """The recipe file's text, so that an error can name its line."""

    @property
    def folder(self) -> Path:
        return self.path.parent

    def where(self, *keys: Any) -> str:
        """``recipe.toml:LINE [stage] key``: where a value of the recipe is, for error messages."""
        line = toml_line(self.text, list(keys))
        at = f"{self.path}:{line}" if line else str(self.path)
        return f"{at} [{keys[0]}]" + (f" {'.'.join(str(k) for k in keys[1:])}" if len(keys) > 1 else "")


@dataclass(frozen=True)
class StageContext:
    """What every stage gets besides the workspace and its table of the recipe."""

    spec: ExecutorSpec
    variables: dict[str, str]
    progress: Progress


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


def resolve(recipe: Recipe, value: str, variables: dict[str, str], where: str) -> Path:
    text = expand(value, variables, where)
    if "\0" in text:
        raise AffcurateError(f"{where}: {text!r} contains a NUL character; expected a path")
    p = Path(text)
    return p if p.is_absolute() else (recipe.folder / p)


def existing(recipe: Recipe, value: str, variables: dict[str, str], where: str) -> Path:
    """:func:`resolve`, and the path must exist (a name too long for the system is refused in one line)."""
    p = resolve(recipe, value, variables, where)
    try:
        p.stat()
    except FileNotFoundError:
        raise AffcurateError(f"{where}: {p} not found") from None
    except OSError as exc:
        raise AffcurateError(f"{where}: {str(p)[:200]}: cannot be read ({exc.strerror})") from None
    return p


def input_fingerprint(recipe: Recipe, name: str, config: dict[str, Any]) -> Any:
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


# ---- checks made before any stage runs -----------------------------------------------------------------

def _list_rows(recipe: Recipe, value: str, variables: dict[str, str]) -> tuple[Path, list[list[str]]]:
    """The recipe's video list with ``${VAR}`` expanded in its paths (made absolute)."""
    src = existing(recipe, value, variables, recipe.where("ingest", "list"))
    text = read_text(src, "video list")
    reader = csv.reader(text_io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(src, f"not a CSV list ({exc})", reader.line_num) from None
    if not rows or "path" not in [h.strip() for h in rows[0]]:
        raise InputError(src, "header has no 'path' column, expected e.g. path,subject", 1)
    col = [h.strip() for h in rows[0]].index("path")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) > col and row[col].strip():
            p = expand(row[col].strip(), variables, f"{src}:{i}")
            if "\0" in p:
                raise InputError(src, "the path contains a NUL character", i)
            row[col] = str((src.parent / p).resolve())
    return src, rows


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _check_list(recipe: Recipe, value: str, variables: dict[str, str]) -> bool:
    """Read the expanded list as ingest will, so that a bad row stops the run before anything is written; is it
    a list of still images (an image set)?"""
    from affcurate.imagesets.sources import list_is_images
    from affcurate.media.manifest import read_list

    src, rows = _list_rows(recipe, value, variables)
    with tempfile.TemporaryDirectory(prefix="affcurate-list-") as tmp:
        copy = Path(tmp) / src.name
        _write_rows(copy, rows)
        try:
            read_list(copy)
        except InputError as exc:  # the same lines as the user's file: name that file
            raise InputError(src, exc.message, exc.line) from None
        return list_is_images(copy)


def _check_ingest(recipe: Recipe, cfg: dict[str, Any], variables: dict[str, str], settings: Settings) -> None:
    if "videos" in cfg:
        existing(recipe, cfg["videos"], variables, recipe.where("ingest", "videos"))
    if "list" in cfg:
        images = _check_list(recipe, cfg["list"], variables) and "videos" not in cfg
        source = recipe.stages.get("faces", {}).get("from_labels")
        if images and source and source.get("format") != "affectnet":
            raise AffcurateError(f"{recipe.where('faces', 'from_labels')}: {source.get('format')!r} gives no faces "
                                 "by image; expected format affectnet for a list of still images")


def _at(where: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, with ``where`` put in front of the one line of an AffcurateError it raises."""
    try:
        return fn(*args)
    except AffcurateError as exc:
        raise AffcurateError(f"{where}: {exc}") from None


def _check_import(recipe: Recipe, cfg: dict[str, Any], variables: dict[str, str], settings: Settings) -> None:
    from affcurate.labels.formats import expand_paths, get_format

    for i, src in enumerate(cfg["sources"]):
        fmt = _at(recipe.where("import", "sources", i, "format"), get_format, src["format"])
        if "annotator" in src:
            check_name(src["annotator"], "annotator", recipe.where("import", "sources", i, "annotator"))
        where = recipe.where("import", "sources", i, "paths")
        paths = [existing(recipe, p, variables, where) for p in src["paths"]]
        if not _at(where, expand_paths, paths, fmt.suffixes):
            raise AffcurateError(f"{where}: no {fmt.name} files found in {', '.join(map(str, paths))}")


def _check_faces(recipe: Recipe, cfg: dict[str, Any], variables: dict[str, str], settings: Settings) -> None:
    if "from_labels" in cfg:
        where = recipe.where("faces", "from_labels", "paths")
        for p in cfg["from_labels"]["paths"]:
            existing(recipe, p, variables, where)


def _check_split(recipe: Recipe, cfg: dict[str, Any], variables: dict[str, str], settings: Settings) -> None:
    if "from_file" in cfg:
        existing(recipe, cfg["from_file"], variables, recipe.where("split", "from_file"))
        return
    s = settings.split
    folds = cfg.get("folds", s.folds)
    parts = [cfg.get(k, 0.0) for k in ("train", "val", "test")] if {"train", "val", "test"} & set(cfg) \
        else [s.train, s.val, s.test]
    if folds == 1 or (not folds and abs(sum(parts) - 1) > 1e-6):
        raise AffcurateError(f"{recipe.where('split')}: train + val + test = {sum(parts):g}; expected fractions "
                             "that sum to 1, or folds of at least 2")


def _check_train(recipe: Recipe, cfg: dict[str, Any], variables: dict[str, str], settings: Settings) -> None:
    if "name" in cfg:
        check_name(cfg["name"], "run name", recipe.where("train", "name"))


CHECKS: dict[str, Callable[[Recipe, dict[str, Any], dict[str, str], Settings], None]] = {
    "ingest": _check_ingest, "faces": _check_faces, "import": _check_import, "split": _check_split, "train": _check_train,
}


def check_inputs(recipe: Recipe, variables: dict[str, str], settings: Settings) -> None:
    """Every check that needs no earlier stage's output: names, variables, paths, formats, fractions."""
    for name, cfg in recipe.stages.items():
        if name in CHECKS:
            CHECKS[name](recipe, cfg, variables, settings)


# ---- the stages ----------------------------------------------------------------------------------------

def _stage_ingest(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.flow import ingest

    videos = list_csv = None
    if "videos" in cfg:
        videos = resolve(recipe, cfg["videos"], ctx.variables, recipe.where("ingest", "videos"))
    if "list" in cfg:
        src, rows = _list_rows(recipe, cfg["list"], ctx.variables)
        list_csv = ws.state_dir / "run" / recipe.name / "videos.csv"  # the expanded list, kept with the run
        images = videos is None and _is_images(src, rows)  # a list of still images is an image set
        given = _given_faces(ws, recipe, ctx) if images else {}  # read and checked before anything is written
        with io.atomic_path(list_csv) as tmp:
            _write_rows(tmp, rows)
        if images:
            from affcurate.imagesets import ingest_images
            from affcurate.names import safe_name

            return ingest_images(ws, list_csv, set_name=safe_name(src.stem, "images"), given=given,
                                 subject_from=cfg.get("subject_from"), spec=ctx.spec, progress=ctx.progress,
                                 label_from_folder=cfg.get("label_from_folder", False))
    return ingest(ws, videos, list_csv, subject_from=cfg.get("subject_from"),
                  label_from_folder=cfg.get("label_from_folder", False), image_fps=cfg.get("image_fps"),
                  spec=ctx.spec, faces=cfg.get("faces", True) and "faces" not in recipe.stages,
                  progress=ctx.progress)


def _is_images(src: Path, rows: list[list[str]]) -> bool:
    """Does every row of the (expanded) list name a still image file?"""
    from affcurate.imagesets.sources import list_is_images

    with tempfile.TemporaryDirectory(prefix="affcurate-list-") as tmp:
        _write_rows(Path(tmp) / src.name, rows)
        return list_is_images(Path(tmp) / src.name)


def _given_faces(ws: Workspace, recipe: Recipe, ctx: StageContext) -> dict[str, Any]:
    """The faces ``[faces] from_labels`` gives (AffectNet's), by the image path each row names."""
    from affcurate.imagesets import read_given_faces
    from affcurate.labels.formats import expand_paths, get_format

    source = recipe.stages.get("faces", {}).get("from_labels")
    if not source:
        return {}
    where = recipe.where("faces", "from_labels", "paths")
    paths = [resolve(recipe, p, ctx.variables, where) for p in source["paths"]]
    return read_given_faces(ws, _at(where, expand_paths, paths, get_format(source["format"]).suffixes))


def _stage_faces(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    """The faces stage on its own (a recipe with a ``[faces]`` table: ``[ingest]`` then runs the media only)."""
    from affcurate.faces.given import read_given
    from affcurate.faces.stage import find_faces

    given = None
    if not ws.video_ids():  # image sets only: their shards found their faces when they were ingested
        return find_faces(ws, [], spec=ctx.spec, progress=ctx.progress)
    if "from_labels" in cfg:
        src = cfg["from_labels"]
        paths = [resolve(recipe, p, ctx.variables, recipe.where("faces", "from_labels", "paths")) for p in src["paths"]]
        given = read_given(ws, src["format"], paths)
    return find_faces(ws, spec=ctx.spec, progress=ctx.progress, given=given)


def _stage_subjects(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    """Who is who across videos from their faces (``affcurate subjects``), with [settings.subjects]."""
    from affcurate.identity import subjects

    return subjects(ws, spec=ctx.spec, progress=ctx.progress)


def _stage_import(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.labels.formats import read_import, write_import

    plans = []  # every source read and checked before any is written
    for i, src in enumerate(cfg["sources"]):
        paths = [resolve(recipe, p, ctx.variables, recipe.where("import", "sources", i, "paths"))
                 for p in src["paths"]]
        plans.append(read_import(ws, src["format"], paths, annotator=src.get("annotator"), task=src.get("task"),
                                 only_workspace_aus=src.get("only_workspace_aus", False)))
    return write_import(ws, *plans)


def _stage_merge(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.labels.merge import merge

    spec = ctx.spec if ctx.spec.kind == "ray" or ctx.spec.jobs > 1 else "auto"
    return merge(ws, **{k: v for k, v in cfg.items() if k != "disagreements"}, spec=spec,
                 progress=ctx.progress)


def _stage_split(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.splits import split

    if "from_file" in cfg:
        cfg = {**cfg, "from_file": resolve(recipe, cfg["from_file"], ctx.variables, recipe.where("split", "from_file"))}
    return split(ws, **cfg)


def _stage_report(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.reporting import report

    return report(ws, **cfg)


def _stage_train(ws: Workspace, recipe: Recipe, cfg: dict[str, Any], ctx: StageContext) -> Any:
    from affcurate.train.runner import train_baseline

    return train_baseline(ws, **cfg, progress=ctx.progress)


STAGE_FUNCTIONS: dict[str, Callable[[Workspace, Recipe, dict[str, Any], StageContext], Any]] = {
    "ingest": _stage_ingest,
    "faces": _stage_faces,
    "subjects": _stage_subjects,
    "import": _stage_import,
    "merge": _stage_merge,
    "split": _stage_split,
    "report": _stage_report,
    "train": _stage_train,
}
