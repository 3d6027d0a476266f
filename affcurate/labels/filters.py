"""What merge keeps: which sources it fuses (people, machines) and which frames it writes."""

from __future__ import annotations

from typing import Any

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


def keep_frames(labels: pd.DataFrame, s: LabelsSettings, keep: str, drop: bool,
            counts: list[dict[str, Any]]) -> pd.DataFrame:
    """The frames merge keeps, each step's count recorded in ``counts``."""
    counts.append({"step": "on the grid", "frames": len(labels)})
    if drop:
        labels = labels[labels["has_face"]]
        counts.append({"step": "with the subject's face", "frames": len(labels)})
    aus = [a for a in s.aus if a in labels.columns]
    if keep == "labelled":
        value_cols = [c for c in [*aus, "expr", "valence", "arousal"] if c in labels.columns]
        labels = labels[labels[value_cols].notna().any(axis=1)]
        counts.append({"step": "labelled", "frames": len(labels)})
    elif keep == "au-positive":
        labels = labels[(labels[aus].fillna(0).astype(int) > 0).any(axis=1)] if aus else labels.iloc[:0]
        counts.append({"step": "with at least one AU", "frames": len(labels)})
    if s.au_negative_keep < 1 and aus:
        # seed 003: of the frames labelled without any AU, an evenly spread share per video
        negative = (labels[aus].notna().all(axis=1) & (labels[aus].fillna(0).astype(int) == 0).all(axis=1)).to_numpy()
        rank = pd.Series(negative.astype(int)).groupby(labels["video_id"].to_numpy()).cumsum().to_numpy() - 1
        take = np.floor((rank + 1) * s.au_negative_keep) > np.floor(rank * s.au_negative_keep)
        labels = labels[~negative | take]
        counts.append({"step": f"AU-negative frames subsampled to {s.au_negative_keep:g}", "frames": len(labels)})
    return labels.reset_index(drop=True)
