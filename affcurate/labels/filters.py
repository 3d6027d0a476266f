"""What merge keeps: which sources it fuses (people, machines) and which frames it writes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate.labels.model import MACHINE_SOURCES, Annotation
from affcurate.settings import LabelsSettings

MACHINE = ("exclude", "fallback", "fuse")
"""What merge does with machine sources (OpenFace, py-feat, a model's predictions): leave them out, use them only
for the tasks of a video no person labelled, or fuse them with the people's."""


def machine_rule(anns: list[Annotation], rule: str) -> list[Annotation]:
    """The annotations merge fuses under ``rule`` (one of :data:`MACHINE`)."""
    if rule == "fuse":
        return anns
    people = [a for a in anns if a.source not in MACHINE_SOURCES]
    if rule == "exclude":
        return people
    labelled = {a.task for a in people}
    return people + [a for a in anns if a.source in MACHINE_SOURCES and a.task not in labelled]


Typed = dict[str, tuple[np.ndarray, np.ndarray | None]]
"""A batch's columns in their stored types: (values, where empty or None), as :meth:`Layout.typed` gives them."""


def given(typed: Typed, c: str) -> np.ndarray:
    """Where column ``c`` holds a value."""
    values, empty = typed[c]
    return ~empty if empty is not None else np.ones(len(values), bool)


def labelled(typed: Typed, columns: tuple[str, ...], aus: list[str] | tuple[str, ...]) -> np.ndarray:
    """The rows with a value of any task (an AU of ``aus``, the expression, valence or arousal)."""
    some = np.zeros(len(typed["frame"][0]), bool)
    for c in [c for c in [*aus, "expr", "valence", "arousal"] if c in columns]:
        some |= given(typed, c)
    return some


def keep_steps(s: LabelsSettings, keep: str, drop: bool, aus: list[str]) -> list[str]:
    """The names of the steps :func:`keep_rows` counts, in their order (``aus``: those the labels have)."""
    steps = ["on the grid"]
    if drop:
        steps.append("with the subject's face")
    if keep == "labelled":
        steps.append("labelled")
    elif keep == "au-positive":
        steps.append("with at least one AU")
    if s.au_negative_keep < 1 and aus:
        steps.append(f"AU-negative frames subsampled to {s.au_negative_keep:g}")
    return steps


def keep_rows(typed: Typed, video: np.ndarray, columns: tuple[str, ...], s: LabelsSettings, keep: str,
              drop: bool) -> tuple[np.ndarray, list[int]]:
    """The rows of a batch (``video``: each row's video, whole videos one after the other) merge keeps, and the
    rows after each step of :func:`keep_steps`. ``columns``: those of the labels."""
    n = len(video)
    mask = np.ones(n, bool)
    counts = [n]
    if drop:
        mask &= typed["has_face"][0]
        counts.append(int(mask.sum()))
    aus = [a for a in s.aus if a in columns]
    if keep == "labelled":
        mask &= labelled(typed, columns, aus)
        counts.append(int(mask.sum()))
    elif keep == "au-positive":
        positive = np.zeros(n, bool)
        for a in aus:
            positive |= typed[a][0] > 0  # an empty value is stored as 0
        mask &= positive
        counts.append(int(mask.sum()))
    if s.au_negative_keep < 1 and aus:
        # seed 003: of the frames labelled without any AU, an evenly spread share per video
        rows = np.flatnonzero(mask)
        negative = np.ones(len(rows), bool)
        for a in aus:
            negative &= given(typed, a)[rows] & (typed[a][0][rows] == 0)
        rank = pd.Series(negative.astype(int)).groupby(video[rows]).cumsum().to_numpy() - 1
        take = np.floor((rank + 1) * s.au_negative_keep) > np.floor(rank * s.au_negative_keep)
        mask[rows[negative & ~take]] = False
        counts.append(int(mask.sum()))
    return mask, counts
