"""Per-video frame counts before and after merge's filters, for seed 001's Tables 3.1 and 3.2.

``labels.parquet`` holds only the frames merge kept (``keep=au-positive`` keeps the frames with an AU, and frames
without the subject's face are left out by default), so counts before the filters come from what merge recorded
of each video (:func:`affcurate.labels.counts.video_counts`, in the table's metadata). A table merged without
them is counted as it is, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from affcurate.labels.counts import COUNTS
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


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


def grid_counts(ws: Workspace, table: LabelTable) -> GridCounts:
    """Counts per merged video before merge's filters (as merge recorded them), and the frames it kept."""
    aus = list(table.aus)
    recorded = table.meta.get("video_counts")
    notes: list[str] = []
    if recorded:
        df = pd.DataFrame(recorded).set_index("video_id").reindex(columns=[*COUNTS, *aus]).fillna(0)
        before = True
    else:
        rows = {vid: _from_table(table.for_video(vid)) for vid in table.video_ids}
        df = pd.DataFrame.from_dict(rows, orient="index", columns=[*COUNTS, *aus]).fillna(0)
        before = False
        if "keep" in table.meta:
            notes.append("labels.parquet was merged without per-video counts: run `affcurate merge` again for the "
                         "counts before its filters.")
    df = df.astype(np.int64)
    df.index.name = "video_id"
    faces = bool(len(df)) and (bool((df["with_face"] < df["frames"]).any()) or any(
        ws.faces_path(v).exists() for v in df.index[:50]))
    return GridCounts(df, aus, list(table.tasks), before, faces, notes)
