"""What every baseline is: the :class:`Baseline` interface the runner drives, and the :class:`Predictions` it returns.

A new baseline is one class deriving from :class:`Baseline` (in a module of its own if it is more than a few
lines), listed in :mod:`affcurate.train.registry` (or plugged in with :func:`affcurate.train.registry.register`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affcurate.errors import AffcurateError
from affcurate.train.data import Index
from affcurate.workspace import Workspace


@dataclass
class Predictions:
    """A baseline's outputs for the rows of an :class:`Index`; a task it does not predict is None."""

    au: np.ndarray | None = None      # (N, A) probabilities, AUs in the order of Index.aus
    expr: np.ndarray | None = None    # (N,) class
    va: np.ndarray | None = None      # (N, 2) valence, arousal
    # what `affcurate predict` derives each frame's confidence from, where the model can say (see predict_labels)
    expr_prob: np.ndarray | None = None  # (N, C) class probabilities
    va_spread: np.ndarray | None = None  # (N, 2) how far the VA outputs may be off, in VA units


class Baseline(ABC):
    """A model the benchmark runner trains and scores, asked what scikit-learn asks of an estimator.

    :func:`affcurate.train.runner.train_baseline` drives every baseline the same way:

    1. ``cls(tasks, epochs=, batch_size=, lr=, seed=, input_size=, workers=, window=)``: ``tasks`` are the
       tasks (of ``au``, ``expr``, ``va``) with train labels; the keywords are the run's settings, of which a
       baseline uses what it needs and ignores the rest.
    2. ``fit(ws, train, val, out, log, note)``, once. ``out`` is the baseline's own folder in the run: what it
       saves there (checkpoints, fitted state) is its state, and a ``fit`` called again on the same folder after
       a kill resumes from it and ends as an uninterrupted one would. ``log(epoch=..., **values)`` writes one row
       of ``out/log.jsonl`` (an epoch logged again replaces the old row); ``note(text)`` tells the user one line
       that does not stop the run (a damaged checkpoint started again). ``val`` is None without a validation
       split.
    3. ``predict(ws, index)``: on validation (to tune AU thresholds) and on the test split.
    4. ``describe()`` goes into ``metrics.json`` as ``model``; ``throughput()``, when not None, as
       ``throughput``.

    ``affcurate predict`` builds the baseline as in 1, calls ``restore(out, aus, n_expr)`` to take back what
    ``fit`` saved in ``out`` instead of fitting, and then ``predict_labels(ws, index)`` on crops without labels.

    Once the runner has written ``out/metrics.json`` the baseline is done: a resumed run reads that file and
    does not build the baseline again.
    """

    name: ClassVar[str]  # the name in --models and settings; also the folder of its results in the run

    def __init__(self, tasks: tuple[str, ...], **settings: Any):
        self.tasks = tuple(tasks)

    @abstractmethod
    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
        """Learn from ``train`` (choosing checkpoints on ``val``), keeping its state in ``out``."""

    @abstractmethod
    def predict(self, ws: Workspace, index: Index) -> Predictions:
        """Outputs for every row of ``index``, in its order."""

    def restore(self, out: Path, aus: list[str], n_expr: int) -> None:
        """Take back the fitted state ``fit`` left in ``out`` (a model trained for the AUs ``aus`` and ``n_expr``
        classes), so that ``predict`` works without fitting again; refuse in one line when it cannot."""
        raise AffcurateError(f"model {self.name} keeps no fitted state in {out}: it cannot pre-label videos")

    def predict_labels(self, ws: Workspace, index: Index) -> Predictions:
        """``predict`` with what confidence can be computed from (``expr_prob``, ``va_spread``) filled in where
        the model can say; by default, ``predict``."""
        return self.predict(ws, index)

    def describe(self) -> dict[str, Any]:
        """What ``metrics.json`` records of the fitted model."""
        return {"name": self.name}

    def throughput(self) -> dict[str, float] | None:
        """``images_per_s`` and ``load_share`` (share of time spent reading crops) of training, if measured."""
        return None
