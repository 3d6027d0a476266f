"""The annotation model: what one annotator (or importer) said about one video for one task.

Tasks: ``au`` (presence 0/1 and optional intensity 0-5 per AU of ``settings.labels.aus``), ``expr`` (a class
index into ``settings.labels.expressions``) and ``va`` (valence and arousal in [-1, 1]).

Each table has a clock and a time base. The clock says whose timeline the positions are on: ``grid`` (frames of
the workspace's constant-fps video, e.g. the desk) or ``source`` (the original video's frames or seconds, e.g.
Aff-Wild files). The time base is ``frame`` (integer positions at ``fps``) or ``time`` (seconds). The shape
is ``dense`` (one row per sample), ``keyframes`` (samples to interpolate between) or ``intervals``
(``start``/``end`` inclusive). ``complete`` tables claim to cover the whole video, so their length is checked.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.names import check_name
from affcurate.settings import LabelsSettings
from affcurate.workspace import Workspace

TASKS = ("au", "expr", "va")
MACHINE_SOURCES = frozenset({"openface", "pyfeat", "model"})
"""Sources that are a program's output, not a person's (``model``: ``affcurate predict``)."""
CONFIDENCE = "confidence"
"""An optional column of any table: how sure its source is of each row, 0-1 (``affcurate predict`` writes it)."""
CLOCKS = ("grid", "source")
TIME_BASES = ("frame", "time")
SHAPES = ("dense", "keyframes", "intervals")
# frames (and seconds) beyond this are no position in a video; int64 casts of larger values wrap silently
MAX_POSITION = 2**31 - 1


def task_columns(task: str, aus: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The one definition of a task's value columns: (discrete, continuous). AUs: presence ``AU12`` and
    intensity ``AU12_intensity``; expressions: ``expr``; VA: ``valence`` and ``arousal``."""
    if task == "au":
        return list(aus), [f"{a}_intensity" for a in aus]
    if task == "expr":
        return ["expr"], []
    if task == "va":
        return [], ["valence", "arousal"]
    raise AffcurateError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")


def value_columns(task: str, settings: LabelsSettings, intensity: bool = True) -> list[str]:
    discrete, continuous = task_columns(task, settings.aus)
    return discrete + continuous if intensity or task != "au" else discrete


@dataclass
class Annotation:
    """One annotator's labels of one task for one video."""

    video_id: str
    task: str
    annotator: str
    data: pd.DataFrame
    source: str = "affcurate"
    clock: str = "grid"
    time_base: str = "frame"
    fps: float | None = None
    shape: str = "dense"
    complete: bool = False
    origin: str | None = None
    """The file it was read from, for messages (kept with the stored table)."""
    extra: dict[str, Any] = field(default_factory=dict)
    last_line: int | None = None
    """The line of ``origin`` that holds the last row, for messages about the table's length."""

    @property
    def where(self) -> str:
        """``file:line`` of the last row in the file it came from (or what is known of it), for messages."""
        return f"{self.origin}:{self.last_line}" if self.origin and self.last_line else _where(self)

    def position_columns(self) -> list[str]:
        if self.shape == "intervals":
            return ["start", "end"]
        return ["frame"] if self.time_base == "frame" else ["time"]

    def with_data(self, data: pd.DataFrame) -> Annotation:
        return replace(self, data=data)


def _where(a: Annotation) -> str:
    return a.origin or f"{a.annotator}/{a.task}/{a.video_id}"


def validate(a: Annotation, settings: LabelsSettings, line_of: np.ndarray | None = None) -> Annotation:
    """Check an annotation against the model and return it with normalised dtypes.

    ``line_of`` maps each row to its line in the original file, so errors read ``file:line: …``."""
    where = _where(a)
    if a.task not in TASKS:
        raise InputError(where, f"unknown task {a.task!r}, expected one of {', '.join(TASKS)}")
    for name, value, allowed in (("clock", a.clock, CLOCKS), ("time base", a.time_base, TIME_BASES),
                                 ("shape", a.shape, SHAPES)):
        if value not in allowed:
            raise InputError(where, f"unknown {name} {value!r}, expected one of {', '.join(allowed)}")
    check_name(a.video_id, "video id", where)
    if a.time_base == "frame" and not (a.fps and a.fps > 0) and a.clock == "source":
        raise InputError(where, "a source-clock table indexed by frame needs its fps")
    df = a.data.reset_index(drop=True).copy()
    lines = np.arange(len(df)) + 2 if line_of is None else np.asarray(line_of)

    def fail(rows: np.ndarray, message: str) -> None:
        raise InputError(where, message, int(lines[int(np.flatnonzero(rows)[0])]))

    pos = a.position_columns()
    for c in pos:
        if c not in df.columns:
            raise InputError(where, f"missing column {c!r}, expected {', '.join(pos)} and the values")
        v = pd.to_numeric(df[c], errors="coerce").astype(np.float64)
        if v.isna().any():
            fail(v.isna().to_numpy(), f"{c} is not a number")
        if np.isinf(v).any():
            fail(np.isinf(v).to_numpy(), f"{c} is not a finite number")
        if (v < 0).any():
            fail((v < 0).to_numpy(), f"{c} is negative, expected ≥ 0")
        if (v > MAX_POSITION).any():
            fail((v > MAX_POSITION).to_numpy(), f"{c} {v.max():g} is too large for a position in a video")
        if a.time_base == "frame":
            whole = (v == np.round(v)).to_numpy()
            if not whole.all():
                fail(~whole, f"{c} {v[~whole].iloc[0]:g} is not a whole frame number")
        df[c] = v.astype(np.int64) if a.time_base == "frame" else v
    if a.shape == "intervals":
        bad = (df["end"] < df["start"]).to_numpy()
        if bad.any():
            fail(bad, "interval ends before it starts")
    else:
        p = df[pos[0]].to_numpy()
        if len(p) > 1:
            d = np.diff(p)
            if (d == 0).any():
                fail(np.r_[False, d == 0], f"{pos[0]} {p[1:][d == 0][0]} is repeated, expected each once")
            if (d < 0).any():
                fail(np.r_[False, d < 0], f"{pos[0]} decreases, expected increasing {pos[0]}s")
    cols = value_columns(a.task, settings, intensity=False)
    present = [c for c in cols if c in df.columns]
    if not present:
        raise InputError(where, f"no value column, expected {', '.join(cols)}")
    if a.task == "au":
        for c in present:
            v = pd.to_numeric(df[c], errors="coerce").astype("Float64")
            bad = (v.notna() & ~v.isin([0, 1])).to_numpy(dtype=bool, na_value=False)
            if bad.any():
                fail(bad, f"{c} = {float(v[bad].iloc[0]):g} is not 0 or 1")
            df[c] = v.astype("Int8")
            ic = f"{c}_intensity"
            if ic in df.columns:
                iv = pd.to_numeric(df[ic], errors="coerce").astype("Float64")
                bad = (iv.notna() & ((iv < 0) | (iv > 5))).to_numpy(dtype=bool, na_value=False)
                if bad.any():
                    fail(bad, f"{ic} = {float(iv[bad].iloc[0]):g} is outside 0-5")
                df[ic] = iv.astype("Float32")
        unknown = [c for c in df.columns if c.startswith("AU") and c.split("_")[0] not in settings.aus]
        if unknown:
            raise InputError(where, f"unknown AU column {unknown[0]}, expected one of {', '.join(settings.aus)} "
                                    "(the AU set is the workspace setting labels.aus)")
    elif a.task == "expr":
        v = pd.to_numeric(df["expr"], errors="coerce").astype("Float64")
        n = len(settings.expressions)
        bad = (v.notna() & (~v.isin(np.arange(n)))).to_numpy(dtype=bool, na_value=False)
        if bad.any():
            fail(bad, f"expression {float(v[bad].iloc[0]):g} is not a class index 0-{n - 1} "
                      f"({', '.join(settings.expressions)})")
        df["expr"] = v.astype("Int8")
    else:
        for c in ("valence", "arousal"):
            if c not in df.columns:
                raise InputError(where, f"missing column {c!r}, expected valence and arousal")
            v = pd.to_numeric(df[c], errors="coerce").astype(np.float64)
            bad = (~np.isnan(v)) & ((v < -1) | (v > 1))
            if bad.any():
                fail(bad.to_numpy(), f"{c} = {float(v[bad].iloc[0]):g} is outside [-1, 1]")
            df[c] = v
    if CONFIDENCE in df.columns:
        v = pd.to_numeric(df[CONFIDENCE], errors="coerce").astype(np.float64)
        bad = (~np.isnan(v)) & ((v < 0) | (v > 1))
        if bad.any():
            fail(bad.to_numpy(), f"{CONFIDENCE} = {float(v[bad].iloc[0]):g} is outside [0, 1]")
        df[CONFIDENCE] = v
    keep = pos + [c for c in [*value_columns(a.task, settings), CONFIDENCE] if c in df.columns]
    last = int(lines.max()) if line_of is not None and len(lines) else a.last_line
    return replace(a, data=df[keep], last_line=last)


def _meta(a: Annotation) -> dict[str, Any]:
    return {"video_id": a.video_id, "task": a.task, "annotator": a.annotator, "source": a.source,
            "clock": a.clock, "time_base": a.time_base, "fps": a.fps, "shape": a.shape,
            "complete": a.complete, **({"extra": a.extra} if a.extra else {}),
            **({"origin": a.origin, "last_line": a.last_line} if a.origin else {})}


def write_annotation(ws: Workspace, a: Annotation, checked: bool = False) -> Path:
    """Validate and write one annotation atomically to ``annotations/<annotator>/<task>/<video>.parquet``;
    ``checked`` says that it comes from :func:`validate` already (an import validates before writing)."""
    return write_annotations(ws, [a], checked)[0]


def write_annotations(ws: Workspace, annotations: list[Annotation], checked: bool = False) -> list[Path]:
    """Write several annotations all or nothing: each goes to a temporary file beside its place, and they are
    renamed only when every one was written, so a full disk or an unwritable folder leaves none of them."""
    tables = []
    for a in annotations:
        if not checked:
            a = validate(a, ws.settings.labels)
        check_annotator_name(a.annotator)
        df = a.data.copy()
        df.insert(0, "video_id", a.video_id)
        df["annotator"] = a.annotator
        df["source"] = a.source
        tables.append((ws.annotation_path(a.annotator, a.task, a.video_id), df, _meta(a)))
    try:
        with ExitStack() as stack:
            for path, df, meta in tables:
                io.write_parquet(df, stack.enter_context(io.atomic_path(path, suffix=".parquet")), metadata=meta)
    except OSError as exc:
        raise AffcurateError(f"{exc.filename or ws.annotations_dir}: cannot write the annotation "
                             f"({exc.strerror or exc})") from None
    return [path for path, _, _ in tables]


def read_annotation(path: str | Path, plain: bool = False) -> Annotation:
    """One stored annotation; ``plain`` reads its values as floats with NaN (what merge computes with)."""
    path = Path(path)
    df, meta = io.read_parquet_with_metadata(path, plain)
    if not meta:
        raise InputError(path, "not an affcurate annotation table (no metadata)")
    df = df.drop(columns=["video_id", "annotator", "source"], errors="ignore")
    return Annotation(meta["video_id"], meta["task"], meta["annotator"], df, meta.get("source", "affcurate"),
                      meta.get("clock", "grid"), meta.get("time_base", "frame"), meta.get("fps"),
                      meta.get("shape", "dense"), bool(meta.get("complete", False)), meta.get("origin") or str(path),
                      meta.get("extra", {}), meta.get("last_line"))


def list_annotations(ws: Workspace) -> pd.DataFrame:
    """Every annotation table in the workspace: annotator, task, video_id, path."""
    rows = []
    if ws.annotations_dir.exists():
        for p in sorted(ws.annotations_dir.glob("*/*/*.parquet"), key=lambda p: p.parts):  # as paths sort
            rows.append({"annotator": p.parent.parent.name, "task": p.parent.name, "video_id": p.stem,
                         "path": str(p)})
    return pd.DataFrame(rows, columns=["annotator", "task", "video_id", "path"])


def check_annotator_name(name: str, where: str | None = None) -> str:
    """Annotator names become folder names: letters, digits, _ . - only (full match)."""
    return check_name(name, "annotator name", where)
