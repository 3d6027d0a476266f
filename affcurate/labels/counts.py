"""What merge records of each video before and along its filters, for the report's tables (seed 001's Tables
3.1 and 3.2 count frames before the AU-positive filter, which labels.parquet no longer holds)."""

from __future__ import annotations

from typing import Any

import numpy as np

from affcurate.labels.agreement import segment_sum
from affcurate.labels.filters import Typed, given, labelled

COUNTS = ("frames", "with_face", "labelled", "au_positive", "expr", "va", "after_face", "after_face_labelled",
          "after_face_au_positive", "kept")
"""On every frame of the grid: frames, with the subject's face, labelled (any task), with at least one AU, with
an expression, with valence-arousal. Along merge's steps: the frames after its face step (all frames when it
keeps those without the face), of them the labelled ones and those with an AU, and the frames kept."""


def video_counts(typed: Typed, video: np.ndarray, vids: list[str], kept: np.ndarray, columns: tuple[str, ...],
                 aus: list[str] | tuple[str, ...], drop: bool) -> list[dict[str, Any]]:
    """Per video of a batch with frames (``video``: each row's number in ``vids``, whole videos one after the
    other, before the filters): the :data:`COUNTS` and, per AU, the frames where it is present; ``kept``: the
    rows merge kept."""
    n = len(video)
    aus = [a for a in aus if a in columns]
    present = {a: given(typed, a) & (typed[a][0] == 1) for a in aus}
    face = typed["has_face"][0]
    step = face if drop else np.ones(n, bool)
    some = labelled(typed, columns, aus)
    positive = np.zeros(n, bool)
    for mask in present.values():
        positive |= mask
    none = np.zeros(n, bool)
    masks = {"frames": np.ones(n, bool), "with_face": face, "labelled": some, "au_positive": positive,
             "expr": given(typed, "expr") if "expr" in columns else none,
             "va": given(typed, "valence") if "valence" in columns else none,
             "after_face": step, "after_face_labelled": step & some, "after_face_au_positive": step & positive,
             "kept": kept}
    lengths = np.bincount(video, minlength=len(vids))
    starts = np.r_[0, np.cumsum(lengths)[:-1]]  # each video's rows follow each other

    def per_video(mask: np.ndarray) -> np.ndarray:
        return segment_sum(mask, starts, lengths)

    sums = {k: per_video(m) for k, m in masks.items()}
    sums.update({a: per_video(m) for a, m in present.items()})
    has_rows = lengths > 0
    return [{"video_id": vid, **{k: int(v[i]) for k, v in sums.items()}} for i, vid in enumerate(vids)
            if has_rows[i]]
