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
    codes, vids = pd.factorize(grid["video_id"], sort=False)
    n = len(grid)

    def given(c: str) -> np.ndarray:
        return ~np.isnan(grid[c].to_numpy(np.float64, na_value=np.nan))

    present = {a: grid[a].to_numpy(np.float64, na_value=np.nan) == 1 for a in aus}
    face = grid["has_face"].to_numpy(bool)
    step = face if drop else np.ones(n, bool)
    labelled = np.zeros(n, bool)
    for c in values:
        labelled |= given(c)
    positive = np.zeros(n, bool)
    for mask in present.values():
        positive |= mask
    none = np.zeros(n, bool)
    masks = {"frames": np.ones(n, bool), "with_face": face, "labelled": labelled, "au_positive": positive,
             "expr": given("expr") if "expr" in grid.columns else none,
             "va": given("valence") if "valence" in grid.columns else none,
             "after_face": step, "after_face_labelled": step & labelled, "after_face_au_positive": step & positive}
    sums = {k: np.bincount(codes[m], minlength=len(vids)) for k, m in masks.items()}
    sums["kept"] = np.bincount(pd.Index(vids).get_indexer(kept["video_id"]), minlength=len(vids))
    sums.update({a: np.bincount(codes[m], minlength=len(vids)) for a, m in present.items()})
    return [{"video_id": vid, **{k: int(v[i]) for k, v in sums.items()}} for i, vid in enumerate(vids)]
