"""Profiles of class labels: each frame's profile says how many annotators gave each class there, whichever way
the profiles are numbered (directly, through a table of those that occur, or by sorting)."""

from __future__ import annotations

import numpy as np
import pytest

from affcurate.labels import classes
from affcurate.labels.classes import profiles


@pytest.mark.parametrize(("n_classes", "annotators", "numbering"), [
    (2, 3, "direct"),  # AU presence, three raters: 16 profiles
    (8, 3, "table"),  # expressions, three raters: 65,536 possible
    (8, 20, "sorted"),  # expressions, twenty raters: 21 ** 8 possible
    (2, 300, "table"),  # more raters than a byte counts: 301 ** 2 possible
])
def test_each_frames_profile_counts_the_annotators_of_each_class(n_classes: int, annotators: int,
                                                                 numbering: str) -> None:
    rng = np.random.default_rng(annotators)
    per = [rng.integers(-1, n_classes, (3, 500)).astype(np.int8) for _ in range(annotators)]
    p = profiles(per)
    top = (annotators + 1) ** n_classes
    expected = {"direct": top <= classes.DIRECT, "table": classes.DIRECT < top <= classes.COMPACT,
                "sorted": top > classes.COMPACT}
    assert expected[numbering]
    stacked = np.stack(per)  # annotators × labels × frames
    want = np.stack([(stacked == c).sum(0) for c in range(n_classes)], -1)  # labels × frames × classes
    assert np.array_equal(p.counts[p.number], want)
    assert np.array_equal(p.given[p.number], (stacked >= 0).sum(0))
    assert len(np.unique(p.number)) == len(np.unique(want.reshape(-1, n_classes), axis=0))
