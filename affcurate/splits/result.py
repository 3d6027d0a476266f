"""What a split stage returns: the assignment, its balance and the tables `affcurate split` shows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class SplitResult:
    assignment: pd.DataFrame            # video_id, subject, split and/or fold
    score: float
    max_au_gap: float                   # percentage points
    fractions: dict[str, float]
    summary: dict[str, pd.DataFrame] = field(default_factory=dict)
    method: str = "optimise"
    seed: int | None = 0
    source: str | None = None           # the file a given split was adopted from
    notes: list[str] = field(default_factory=list)  # what adopting a given split skipped or allowed
