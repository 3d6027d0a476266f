"""External label formats: one module per format, each registering a reader and (most) a writer.

A format is a pair: ``read(path, ImportContext) -> [Annotation]`` and ``write(LabelTable, out, ExportContext)
-> [paths]``. ``affcurate formats`` lists the registry; ``affcurate import`` and ``affcurate export`` go through it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError, InputError
from affcurate.labels.formats.common import (  # noqa: F401 - the format modules import them from here
    MAX_POSITION,
    au_from_openface_name,
    natural_order,
    numbered_images,
    parse_int,
    read_json,
    read_table,
    read_text,
    segments,
    shown,
    to_frame,
    to_number,
)
from affcurate.labels.formats.context import (  # noqa: F401 - the writers import them from here
    ExportContext,
    VideoFacts,
    by_video,
    label_frames,
)
from affcurate.labels.model import (
    CLOCKS,
    TASKS,
    Annotation,
    check_annotator_name,
    validate,
    write_annotations,
)
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace

MODULES = ("own", "abaw", "afewva", "disfa", "openface", "pyfeat", "cvat", "labelstudio", "affectnet", "avec", "folders", "elan")


@dataclass
class ImportContext:
    """What a reader may need: the workspace (settings, source facts), and the user's choices."""

    ws: Workspace
    annotator: str | None = None
    task: str | None = None
    clock: str | None = None
    fps: float | None = None
    only_workspace_aus: bool = False
    """Leave out AUs the workspace does not study (``labels.aus``) instead of refusing the file."""

    @property
    def settings(self):  # noqa: ANN201 - LabelsSettings
        return self.ws.settings.labels

    def source_fps(self, video_id: str) -> float | None:
        m = self.manifest()
        if video_id in m.index and not pd.isna(m.loc[video_id, "avg_fps"]):
            return float(m.loc[video_id, "avg_fps"])
        return None

    def manifest(self) -> pd.DataFrame:
        """The workspace manifest by video id, read once (empty before ingest)."""
        if not hasattr(self, "_m"):
            m = self.ws.manifest() if self.ws.has_manifest() else pd.DataFrame(
                columns=["video_id", "avg_fps", "status"])
            self._m = m.set_index("video_id")
        return self._m


def _known(manifest: pd.DataFrame) -> set[str]:
    """Ids of the videos that were ingested successfully (those labels can be imported for)."""
    return set(manifest.index[manifest["status"] == "ok"])


@dataclass(frozen=True)
class Format:
    """A format: ``read`` returns the file's annotations validated (``validated``), with file:line errors;
    ``write`` (None for a read-only format) writes a label table under a folder and returns the files."""

    name: str
    description: str
    read: Callable[[Path, ImportContext], list[Annotation]]
    write: Callable[[LabelTable, Path, ExportContext], list[Path]] | None = None
    suffixes: tuple[str, ...] = ()


REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    REGISTRY[fmt.name] = fmt
    return fmt


def _load() -> None:
    """Import every format module (each registers itself), whichever of them was imported first."""
    for m in MODULES:  # cheap after the first time: the modules are in sys.modules
        importlib.import_module(f"affcurate.labels.formats.{m}")


def get_format(name: str) -> Format:
    _load()
    if name not in REGISTRY:
        raise AffcurateError(f"unknown format {name!r}: expected one of {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def formats() -> list[Format]:
    _load()
    return [REGISTRY[k] for k in sorted(REGISTRY)]


@dataclass
class ImportReport:
    written: list[Path] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (video id, file)
    files: int = 0


@dataclass
class ImportPlan:
    """Everything one import will write, read and checked in full; nothing is written until ``write_import``."""

    annotations: list[Annotation]
    report: ImportReport


def expand_paths(paths: Iterable[Path], suffixes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise AffcurateError(f"{p}: not found")
        if p.is_dir() and suffixes:
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in suffixes)
        else:
            out.append(p)
    return out


def _check_options(annotator: str | None, task: str | None, clock: str | None, fps: float | None) -> None:
    if annotator is not None:
        check_annotator_name(annotator)
    if task is not None and task not in TASKS:
        raise AffcurateError(f"task {task!r} is unknown, expected one of {', '.join(TASKS)}")
    if clock is not None and clock not in CLOCKS:
        raise AffcurateError(f"clock {clock!r} is unknown, expected one of {', '.join(CLOCKS)}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise AffcurateError(f"fps {fps!r} is not a frame rate, expected a positive number")


def read_import(ws: Workspace, format: str, paths: Iterable[str | Path], *, annotator: str | None = None,
                task: str | None = None, clock: str | None = None, fps: float | None = None,
                skip_unmatched: bool = False, only_workspace_aus: bool = False) -> ImportPlan:
    """Read and check every file (values, names, positions, the match to workspace videos) without writing.

    An unknown video is an error unless ``skip_unmatched``; an AU the workspace does not study is an error unless
    ``only_workspace_aus`` (then it is left out)."""
    _check_options(annotator, task, clock, fps)
    fmt = get_format(format)
    ctx = ImportContext(ws, annotator, task, clock, fps, only_workspace_aus)
    paths = [Path(p) for p in paths]
    files = expand_paths(paths, fmt.suffixes)
    if not files:
        raise AffcurateError(f"no {format} files found in {', '.join(str(p) for p in paths)}")
    known = _known(ctx.manifest())
    report = ImportReport(files=len(files))
    todo: list[Annotation] = []
    for f in files:
        for a in fmt.read(f, ctx):
            if task and a.task != task:  # readers of several tasks may not filter themselves
                continue
            if annotator:
                a.annotator = annotator
            check_annotator_name(a.annotator, where=a.origin or str(f))
            if a.video_id not in known:
                report.unmatched.append((a.video_id, str(f)))
                continue
            todo.append(a)  # readers return validated tables (Format.read)
    todo = _combine(todo, ws)
    if not todo and not report.unmatched:  # files that say nothing the workspace studies: a wrong file or --task
        what = f"{task} labels" if task else "labels of the workspace's tasks (labels.aus, labels.expressions)"
        raise InputError(files[0], f"no {what} found in {len(files)} {format} file(s); nothing to import")
    if report.unmatched and not skip_unmatched:
        vid, f = report.unmatched[0]
        more = f" (and {len(report.unmatched) - 1} more)" if len(report.unmatched) > 1 else ""
        raise InputError(f, f"video {shown(vid)} is not in the workspace{more}; expected one of the ingested video "
                            f"ids (or pass --skip-unmatched){_subject_hint(vid, known)}")
    return ImportPlan(todo, report)


def _subject_hint(vid: str, known: set[str]) -> str:
    """Aff-Wild2 names the two people of one video NAME_left and NAME_right: say how to list them."""
    base, _, side = vid.rpartition("_")
    if side in ("left", "right") and base in known:
        return (f"; {base} is: a video with two subjects is listed once per subject, with video_id {vid} and "
                f"target {side}")
    return ""


def write_import(ws: Workspace, *plans: ImportPlan) -> list[ImportReport]:
    """Write what ``read_import`` checked, holding the workspace's writer lock (several plans at once, so a
    recipe's sources are all read before any is written)."""
    with ws.writing("affcurate import"):
        # the manifest may have changed between reading and taking the lock
        known = _known(ImportContext(ws).manifest())
        for plan in plans:
            for a in plan.annotations:
                if a.video_id not in known:
                    raise InputError(a.origin or "", f"video {a.video_id!r} left the workspace while the files "
                                                     "were read; run the import again")
        paths = iter(write_annotations(ws, [a for plan in plans for a in plan.annotations], checked=True))
        for plan in plans:
            plan.report.written += [next(paths) for _ in plan.annotations]
    return [p.report for p in plans]


def import_files(ws: Workspace, format: str, paths: Iterable[str | Path], *, annotator: str | None = None,
                 task: str | None = None, clock: str | None = None, fps: float | None = None,
                 skip_unmatched: bool = False, only_workspace_aus: bool = False) -> ImportReport:
    """Read every file with the format's reader, match each annotation to a workspace video by id, check them
    all, then write them (under the writer lock). If anything is refused, nothing is written."""
    plan = read_import(ws, format, paths, annotator=annotator, task=task, clock=clock, fps=fps,
                       skip_unmatched=skip_unmatched, only_workspace_aus=only_workspace_aus)
    return write_import(ws, plan)[0]


def _combine(annotations: list[Annotation], ws: Workspace) -> list[Annotation]:
    """Tables of the same video, task and annotator from several files (DISFA ships one file per AU) become
    one table, joined on their positions."""
    by: dict[tuple[str, str, str], Annotation] = {}
    for a in annotations:
        key = (a.video_id, a.task, a.annotator)
        if key not in by:
            by[key] = a
            continue
        prev = by[key]
        pos = prev.position_columns()
        if pos != a.position_columns() or prev.shape != a.shape:
            raise InputError(a.origin or "", f"{a.video_id}: its {a.task} labels from {prev.origin} use another "
                                             "time base; import them under another --annotator")
        if prev.shape == "intervals":
            data = pd.concat([prev.data, a.data], ignore_index=True)
        else:
            overlap = sorted(set(prev.data.columns) & set(a.data.columns) - set(pos))
            for c in overlap:
                if prev.data[c].notna().any() and a.data[c].notna().any():
                    raise InputError(a.origin or "", f"{a.video_id}: {c} is given twice (also in {prev.origin})")
            data = prev.data.merge(a.data, on=pos, how="outer", suffixes=("", "__new"))
            for c in overlap:
                data[c] = data[c].where(data[c].notna(), data.pop(f"{c}__new"))
            data = data.sort_values(pos[0]).reset_index(drop=True)
        by[key] = validate(prev.with_data(data), ws.settings.labels)
    return list(by.values())


def export(ws: Workspace, format: str, out: str | Path) -> list[Path]:
    """Write the workspace's merged labels in ``format`` under ``out``."""
    fmt = get_format(format)
    if fmt.write is None:
        raise AffcurateError(f"format {format!r} is read-only; writable formats: "
                             f"{', '.join(f.name for f in formats() if f.write)}")
    return fmt.write(LabelTable.read(ws), Path(out), ExportContext.of(ws))


# ---- helpers shared by the format modules ----------------------------------------------------------------

def validated(a: Annotation, ctx: ImportContext, lines: np.ndarray) -> Annotation:
    """Validate with file line numbers (the model's checks, reported at the right line); a table without a
    row is refused (a header-only file labels nothing)."""
    if len(a.data) == 0:
        raise InputError(a.origin or "", f"no rows of {a.task} labels for {a.video_id!r}, expected at least one")
    return validate(a, ctx.settings, lines)


def write_csv(path: Path, df: pd.DataFrame, sep: str = ",") -> Path:
    from affcurate.io import write_text

    write_text(path, df.to_csv(index=False, sep=sep, lineterminator="\n"))
    return path
