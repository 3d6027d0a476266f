"""affcurate's own per-annotator CSV (seed 001's layout): ``frame`` (or ``time``), then for AUs a presence
flag followed by its intensity (``AU1,AU1_intensity,…``), and/or ``expr`` (class index or name), and/or
``valence,arousal``. One file per video, the file name being the video id (or a ``video_id`` column)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import InputError
from affcurate.labels.formats import (
    ExportContext,
    Format,
    ImportContext,
    by_video,
    read_table,
    register,
    shown,
    to_number,
    validated,
    write_csv,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.names import check_name


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    df, lines = read_table(path)
    cols = list(df.columns)
    pos = "frame" if "frame" in cols else "time" if "time" in cols else None
    if pos is None:
        raise InputError(path, f"header {shown(','.join(cols)[:60])} has no 'frame' or 'time' column, expected e.g. "
                               "frame,AU1,AU1_intensity,…", 1)
    aus = [c for c in cols if c.startswith("AU") and not c.endswith("_intensity")]
    known = set(ctx.settings.aus)
    unknown = [a for a in aus if a not in known]
    if unknown:
        raise InputError(path, f"unknown AU column {shown(unknown[0])}, expected AUs of the workspace setting labels.aus "
                               f"({', '.join(ctx.settings.aus)})", 1)
    expected = {pos, "video_id", "expr", "valence", "arousal", *aus, *(f"{a}_intensity" for a in aus)}
    extra = [c for c in cols if c not in expected]
    if extra:
        raise InputError(path, f"unexpected column {shown(extra[0])}, expected {pos}, AU columns, expr, valence, "
                               "arousal", 1)
    groups = df.groupby("video_id", sort=False) if "video_id" in cols else [(path.stem, df)]
    out = []
    for vid, part in groups:
        ln = lines[part.index.to_numpy()] if "video_id" in cols else lines
        check_name(str(vid), "video id", f"{path}:{ln[0]}" if "video_id" in cols else str(path))
        part = part.reset_index(drop=True)
        base = {pos: to_number(part, pos, path, ln)}
        tasks = {"au": aus + [f"{a}_intensity" for a in aus if f"{a}_intensity" in cols],
                 "expr": ["expr"] if "expr" in cols else [],
                 "va": [c for c in ("valence", "arousal") if c in cols]}
        for task, tcols in tasks.items():
            if not tcols or (ctx.task and ctx.task != task):
                continue
            data = pd.DataFrame(base)
            for c in tcols:
                given = part[c].ne("") & part[c].str.lower().ne("nan")
                if c == "expr" and not (pd.to_numeric(part[c].where(given), errors="coerce").notna() | ~given).all():
                    names = {n.lower(): i for i, n in enumerate(ctx.settings.expressions)}
                    data[c] = part[c].str.lower().map(names)
                    bad = data[c].isna() & part[c].ne("")
                    if bad.any():
                        i = int(np.flatnonzero(bad.to_numpy())[0])
                        raise InputError(path, f"unknown expression {shown(part[c].iloc[i])}, expected one of "
                                               f"{', '.join(ctx.settings.expressions)}", int(ln[i]))
                else:
                    data[c] = to_number(part, c, path, ln)
            a = Annotation(str(vid), task, ctx.annotator or "imported", data, source="affcurate",
                           clock=ctx.clock or "grid", time_base="frame" if pos == "frame" else "time",
                           fps=ctx.fps, shape="dense", complete=False, origin=str(path))
            out.append(validated(a, ctx, ln))
    return out


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """The labels, one CSV per video in the same layout (importable again); not labelled is an empty cell."""
    cols = ["frame"]
    held = set(table.task_columns("au"))
    for a in (a for a in table.aus if a in held):
        cols += [a] + ([f"{a}_intensity"] if f"{a}_intensity" in held else [])
    cols += table.task_columns("expr") + table.task_columns("va")
    return [write_csv(out / f"{vid}.csv", rows.frame[cols]) for vid, rows in by_video(table)]


register(Format("affcurate", "affcurate per-annotator CSV: frame, AU presence + intensity, expr, valence, arousal",
                read, write, (".csv",)))
