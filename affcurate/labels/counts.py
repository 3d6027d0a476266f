"""What merge records of each video before and along its filters, for the report's tables (seed 001's Tables
3.1 and 3.2 count frames before the AU-positive filter, which labels.parquet no longer holds)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

COUNTS = ("frames", "with_face", "labelled", "au_positive", "expr", "va", "after_face", "after_face_labelled",
          "after_face_au_positive", "kept")
"""On every frame of the grid: frames, with the subject's face, labelled (any task), with at least one AU, with
an expression, with valence-arousal. Along merge's steps: the frames after its face step (all frames when it
keeps those without the face), of them the labelled ones and those with an AU, and the frames kept."""


def video_counts(grid: pd.DataFrame, kept: pd.DataFrame, aus: list[str], drop: bool) -> list[dict[str, Any]]:
    """Per video of ``grid`` (every merged frame, before the filters): the :data:`COUNTS` and, per AU, the frames
    where it is present; ``kept`` is what merge kept of them."""
    if grid.empty:
        return []
    aus = [a for a in aus if a in grid.columns]
    values = [c for c in [*aus, "expr", "valence", "arousal"] if c in grid.columns]
    present = (grid[aus].fillna(0).to_numpy(np.float64) == 1) if aus else np.zeros((len(grid), 0), bool)
    face = grid["has_face"].to_numpy(bool)
    step = face if drop else np.ones(len(grid), bool)
    labelled = grid[values].notna().any(axis=1).to_numpy() if values else np.zeros(len(grid), bool)
    positive = present.any(1)
    none = np.zeros(len(grid), bool)
    masks = {"frames": np.ones(len(grid), bool), "with_face": face, "labelled": labelled, "au_positive": positive,
             "expr": grid["expr"].notna().to_numpy() if "expr" in grid.columns else none,
             "va": grid["valence"].notna().to_numpy() if "valence" in grid.columns else none,
             "after_face": step, "after_face_labelled": step & labelled, "after_face_au_positive": step & positive,
             **{a: present[:, j] for j, a in enumerate(aus)}}
    sums = pd.DataFrame(masks).groupby(grid["video_id"].to_numpy(), sort=False).sum()
    sums.insert(list(masks).index("after_face_au_positive") + 1, "kept",
                kept.groupby("video_id", sort=False).size().reindex(sums.index, fill_value=0))
    return [{"video_id": vid, **{k: int(v) for k, v in row.items()}} for vid, row in sums.iterrows()]
