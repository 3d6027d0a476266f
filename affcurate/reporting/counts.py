"""Per-video frame counts before and after merge's filters, for seed 001's Tables 3.1 and 3.2.

``labels.parquet`` holds only the frames merge kept (``keep=au-positive`` keeps the frames with an AU, and frames
without the subject's face are left out by default), so counts before the filters cannot come from it. They
come from the annotations put on the grid again, fused as merge fuses them (the same resample and fusion
functions); a video whose annotations cannot be put on the grid any more is counted from ``labels.parquet``
and named in a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.labels.fuse import fuse_continuous, fuse_discrete
from affcurate.labels.lag import best_lags, shift
from affcurate.labels.model import TASKS, Annotation, list_annotations, read_annotation, task_columns
from affcurate.labels.resample import grid_of, to_grid
from affcurate.labels.table import LabelTable
from affcurate.settings import LabelsSettings
from affcurate.workspace import Workspace

COUNTS = ("frames", "with_face", "labelled", "au_positive", "expr", "va", "after_face", "after_face_labelled",
          "after_face_au_positive", "kept")
"""On every frame of the grid: frames, with the subject's face, labelled (any task), with at least one AU, with
an expression, with valence-arousal. Along merge's steps: the frames after its face step (all frames when it kept
those without the face), of them the labelled ones and those with an AU, and the frames kept in labels.parquet."""


@dataclass
class GridCounts:
    """``videos``: one row per merged video (index ``video_id``) with the :data:`COUNTS` columns and one column
    per AU (frames where it is present on the grid)."""

    videos: pd.DataFrame
    aus: list[str]
    tasks: list[str]
    before_filters: bool
    """True when the counts come from the annotations on the grid (else from labels.parquet only)."""
    faces: bool
    """The faces stage ran for at least one video (else every frame counts as having the face)."""
    notes: list[str] = field(default_factory=list)


def _row(n: int, face: np.ndarray, present: np.ndarray, labelled: np.ndarray, expr: np.ndarray, va: np.ndarray,
         drop: bool, kept: int, aus: list[str]) -> dict[str, int]:
    """One video's counts from its per-frame masks (``present``: frames × AUs)."""
    step = face if drop else np.ones(n, bool)
    positive = present.any(1)
    row = {"frames": n, "with_face": int(face.sum()), "labelled": int(labelled.sum()),
           "au_positive": int(positive.sum()), "expr": int(expr.sum()), "va": int(va.sum()),
           "after_face": int(step.sum()), "after_face_labelled": int((step & labelled).sum()),
           "after_face_au_positive": int((step & positive).sum()), "kept": kept}
    row.update({a: int(present[:, j].sum()) for j, a in enumerate(aus)})
    return row


def _from_table(t: LabelTable) -> dict[str, int]:
    """Counts of one video's rows of labels.parquet (all that is known when its annotations are gone)."""
    au = t.au_presence()
    labelled = np.column_stack([t.labelled("au"), t.labelled("expr"), t.labelled("va")]).any(1)
    face = t.frame["has_face"].to_numpy(bool) if len(t) else np.zeros(0, bool)
    return _row(len(t), face, au == 1, labelled, t.labelled("expr")[:, 0], t.labelled("va")[:, 0], False, len(t),
                list(t.aus))


def _fused(anns: list[Annotation], g, s: LabelsSettings) -> dict[str, np.ndarray]:  # noqa: ANN001 - GridContext
    """The fused presence, expression and valence-arousal of one video on its grid, as merge computes them
    (with each VA rater's reaction lag compensated when merge does)."""
    out: dict[str, np.ndarray] = {}
    for task in TASKS:
        task_anns = [a for a in anns if a.task == task]
        if not task_anns:
            continue
        discrete, continuous = task_columns(task, s.aus)
        cols = discrete if task != "va" else continuous  # intensities are not counted
        per: dict[str, list[np.ndarray]] = {c: [] for c in cols}
        for a in task_anns:
            values = to_grid(a, g, cols, s.length_tolerance).values
            for c in cols:
                per[c].append(values.get(c, np.full(g.n, np.nan)))
        if task == "va" and s.va_lag_max > 0:
            traces = [np.stack([v, a], 1) for v, a in zip(per["valence"], per["arousal"], strict=True)]
            for j, lag in enumerate(best_lags(traces, int(round(s.va_lag_max * g.fps)))):
                if lag:
                    per["valence"][j], per["arousal"][j] = shift(per["valence"][j], lag), shift(per["arousal"][j], lag)
        for c in cols:
            stack = np.stack(per[c], 1)
            if task == "va":
                out[c] = fuse_continuous(stack, s.va_fusion)
            else:
                out[c] = fuse_discrete(stack, s.au_fusion if task == "au" else s.expr_fusion)[0]
    return out


def _from_grid(ws: Workspace, row: pd.Series, paths: list[str], aus: list[str], drop: bool,
               kept: int) -> dict[str, int]:
    g = grid_of(ws, row)
    n = g.n
    fused = _fused([read_annotation(p) for p in paths], g, ws.settings.labels)
    vid = row["video_id"]
    face = FaceTracks.read(ws, vid).mask(n) if ws.faces_path(vid).exists() else np.ones(n, bool)
    present = np.column_stack([fused.get(a, np.full(n, np.nan)) == 1 for a in aus]) if aus else np.zeros((n, 0), bool)
    labelled = np.zeros(n, bool)
    for v in fused.values():
        labelled |= ~np.isnan(v)
    none = np.zeros(n, bool)
    return _row(n, face, present, labelled, ~np.isnan(fused["expr"]) if "expr" in fused else none,
                ~np.isnan(fused["valence"]) if "valence" in fused else none, drop, kept, aus)


def grid_counts(ws: Workspace, table: LabelTable) -> GridCounts:
    """Counts per merged video before merge's filters (from the annotations on the grid when merge recorded its
    filters in labels.parquet), and the frames it kept."""
    aus = list(table.aus)
    kept = table.frame.groupby("video_id", sort=False).size()
    listing = list_annotations(ws)
    merged_by_merge = "keep" in table.meta
    notes: list[str] = []
    rows: dict[str, dict[str, int]] = {}
    faces = False
    if merged_by_merge and len(listing):
        m = ws.manifest(with_faces=False)
        ok = m[m["status"] == "ok"].set_index("video_id", drop=False)
        groups = listing[listing["video_id"].isin(ok.index)]
        drop = bool(table.meta.get("drop_no_face"))
        newer = _changed_since(listing, ws.labels_path)
        if newer:
            notes.append(f"{newer} annotation file(s) changed after merge: run `affcurate merge` again for counts "
                         "that match labels.parquet.")
        fallback = []
        for vid, part in groups.groupby("video_id", sort=False):
            faces |= ws.faces_path(vid).exists()
            try:
                rows[vid] = _from_grid(ws, ok.loc[vid], list(part["path"]), aus, drop, int(kept.get(vid, 0)))
            except (AffcurateError, OSError, ValueError):
                if vid in kept.index:
                    rows[vid] = _from_table(table.for_video(vid))
                    fallback.append(vid)
        if fallback:
            notes.append(f"{len(fallback)} video(s) counted from labels.parquet only, their annotations no longer "
                         f"fit their grid: {', '.join(fallback[:5])}{'…' if len(fallback) > 5 else ''}.")
        before = len(fallback) < len(rows)
    else:
        for vid in kept.index:
            rows[vid] = _from_table(table.for_video(vid))
        before = False
        faces = bool(len(table)) and not table.frame["has_face"].astype(bool).all()
    df = pd.DataFrame.from_dict(rows, orient="index", columns=[*COUNTS, *aus]).fillna(0).astype(np.int64)
    df.index.name = "video_id"
    recorded = table.meta.get("filters") or []
    if before and recorded and recorded[0].get("frames") != int(df["frames"].sum()):
        notes.append(f"merge put {recorded[0]['frames']} frames on the grid, the annotations now cover "
                     f"{int(df['frames'].sum())}: run `affcurate merge` again.")
    return GridCounts(df, aus, list(table.tasks), before, faces, notes)


def _changed_since(listing: pd.DataFrame, labels: Path) -> int:
    """Annotation files written after labels.parquet (merge has not seen them)."""
    if not labels.exists():
        return 0
    t = labels.stat().st_mtime
    return sum(1 for p in listing["path"] if Path(p).exists() and Path(p).stat().st_mtime > t)
