"""Subject-independent splits: the stage (:mod:`.stage`), the search for an assignment (:mod:`.search`) and the
leak check of a split (:mod:`.check`)."""

from affcurate.splits.check import check
from affcurate.splits.stage import split

__all__ = ["check", "split"]
