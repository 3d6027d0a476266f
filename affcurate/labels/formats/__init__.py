"""External label formats: one module per format, each registering a reader and (most) a writer.

``affcurate formats`` lists the registry; ``affcurate import`` and ``affcurate export`` go through it.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError, InputError
from affcurate.labels.model import Annotation, validate, write_annotation
from affcurate.workspace import Workspace

MODULES = ("own", "abaw", "afewva", "disfa", "openface", "pyfeat", "cvat", "labelstudio", "affectnet", "avec")


@dataclass
class ImportContext:
    """What a reader may need: the workspace (settings, source facts), and the user's choices."""

    ws: Workspace
    annotator: str | None = None
    task: str | None = None
    clock: str | None = None
    fps: float | None = None

    @property
    def settings(self):  # noqa: ANN201 - LabelsSettings
        return self.ws.settings.labels

    def source_fps(self, video_id: str) -> float | None:
        m = self._manifest()
        if video_id in m.index and not pd.isna(m.loc[video_id, "avg_fps"]):
            return float(m.loc[video_id, "avg_fps"])
        return None

    def _manifest(self) -> pd.DataFrame:
        if not hasattr(self, "_m"):
            m = self.ws.manifest() if self.ws.has_manifest() else pd.DataFrame(columns=["video_id", "avg_fps"])
            self._m = m.set_index("video_id")
        return self._m


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    read: Callable[[Path, ImportContext], list[Annotation]]
    write: Callable[[Workspace, Path], list[Path]] | None = None
    suffixes: tuple[str, ...] = ()


REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    REGISTRY[fmt.name] = fmt
    return fmt


def _load() -> None:
    if not REGISTRY:
        for m in MODULES:
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


def import_files(ws: Workspace, format: str, paths: Iterable[str | Path], *, annotator: str | None = None,
                 task: str | None = None, clock: str | None = None, fps: float | None = None,
                 skip_unmatched: bool = False) -> ImportReport:
    """Read every file with the format's reader, match each annotation to a workspace video by id, validate
    them all, then write them. An unknown video is an error (nothing written) unless ``skip_unmatched``."""
    fmt = get_format(format)
    ctx = ImportContext(ws, annotator, task, clock, fps)
    files = expand_paths([Path(p) for p in paths], fmt.suffixes)
    if not files:
        raise AffcurateError(f"no {format} files found in {', '.join(str(p) for p in paths)}")
    known = set(ws.video_ids()) if ws.has_manifest() else set()
    report = ImportReport(files=len(files))
    todo: list[Annotation] = []
    for f in files:
        for a in fmt.read(f, ctx):
            if annotator:
                a.annotator = annotator
            if a.video_id not in known:
                report.unmatched.append((a.video_id, str(f)))
                continue
            todo.append(validate(a, ws.settings.labels))
    todo = _combine(todo, ws)
    if report.unmatched and not skip_unmatched:
        vid, f = report.unmatched[0]
        more = f" (and {len(report.unmatched) - 1} more)" if len(report.unmatched) > 1 else ""
        raise InputError(f, f"video {vid!r} is not in the workspace{more}; expected one of the ingested video "
                            "ids (or pass --skip-unmatched)")
    for a in todo:
        report.written.append(write_annotation(ws, a))
    return report


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
    fmt = get_format(format)
    if fmt.write is None:
        raise AffcurateError(f"format {format!r} is read-only; writable formats: "
                             f"{', '.join(f.name for f in formats() if f.write)}")
    if not ws.labels_path.exists():
        raise AffcurateError(f"{ws.labels_path} is missing: run `affcurate merge {ws.root}` first")
    return fmt.write(ws, Path(out))


# ---- helpers shared by the format modules ----------------------------------------------------------------

def read_table(path: Path, sep: str = ",", header: bool = True, strip: bool = True,
               names: list[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A delimited text file as strings with, for each row, its line number; a row with the wrong number of
    fields is refused with ``file:line``."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=sep))
    if not rows:
        raise InputError(path, "empty file, expected a header line" if header else "empty file", 1)
    if header:
        cols = [c.strip() if strip else c for c in rows[0]]
        body, first = rows[1:], 2
    else:
        cols = names or [str(i) for i in range(len(rows[0]))]
        body, first = rows, 1
    lines, keep = [], []
    for i, r in enumerate(body, start=first):
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) != len(cols):
            raise InputError(path, f"{len(r)} fields, expected {len(cols)} ({sep.join(cols)[:80]})", i)
        keep.append([c.strip() for c in r] if strip else r)
        lines.append(i)
    return pd.DataFrame(keep, columns=cols), np.asarray(lines, dtype=np.int64)


def to_number(df: pd.DataFrame, col: str, path: Path, lines: np.ndarray) -> pd.Series:
    v = pd.to_numeric(df[col], errors="coerce")
    bad = v.isna() & df[col].astype(str).str.strip().ne("") & df[col].astype(str).str.lower().ne("nan")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"{col} = {df[col].iloc[i]!r} is not a number", int(lines[i]))
    return v


def validated(a: Annotation, ctx: ImportContext, lines: np.ndarray) -> Annotation:
    """Validate with file line numbers (the model's checks, reported at the right line)."""
    return validate(a, ctx.settings, lines)


def labels_table(ws: Workspace) -> pd.DataFrame:
    from affcurate import io

    return io.read_parquet(ws.labels_path)


def au_from_openface_name(name: str) -> str:
    """``AU01_c`` / ``AU01`` → ``AU1``."""
    core = name.split("_")[0]
    return f"AU{int(core[2:])}"


def write_csv(path: Path, df: pd.DataFrame, sep: str = ",") -> Path:
    from affcurate.io import write_text

    write_text(path, df.to_csv(index=False, sep=sep, lineterminator="\n"))
    return path
