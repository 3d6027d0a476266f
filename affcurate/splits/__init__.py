"""Subject-independent splits: the stage (:mod:`.stage`), the search for an assignment (:mod:`.search`), whether
whole subjects can meet the targets (:mod:`.feasible`), adopting a given split (:mod:`.adopt`, read by
:mod:`.given`) and the leak check of a split (:mod:`.check`)."""

from affcurate.splits.adopt import adopt
from affcurate.splits.check import check
from affcurate.splits.stage import split

__all__ = ["adopt", "check", "split"]
