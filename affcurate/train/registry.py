"""The baselines by name: the one place that says which class ``--models prior,linear,cnn,cnn-gru`` means.

- ``prior``: majority class, AU base rates, mean VA (the floor every table shows);
- ``linear``: logistic / ridge regression on landmark geometry and HOG of the crop;
- ``cnn``: a small multi-task CNN trained from scratch (AU: BCE, EXPR: class-weighted CE, VA: 1 − CCC plus the squared error; each video batch-normalised by its own statistics);
- ``cnn-gru``: the same CNN's features over short windows of frames with a GRU head.

A new baseline is a :class:`~affcurate.train.base.Baseline` subclass added to :data:`BASELINES` here, or, from
outside the package, passed to :func:`register`.
"""

from __future__ import annotations

from typing import Any

from affcurate.errors import AffcurateError
from affcurate.names import check_name
from affcurate.train.base import Baseline
from affcurate.train.baselines import Linear, Prior
from affcurate.train.deep import CNN, CNNGRUBaseline

BASELINES: dict[str, type[Baseline]] = {cls.name: cls for cls in (Prior, Linear, CNN, CNNGRUBaseline)}


def names() -> tuple[str, ...]:
    """The registered baselines, in the order they were registered."""
    return tuple(BASELINES)


def register(cls: type[Baseline]) -> type[Baseline]:
    """Make ``cls`` trainable by its ``name`` (usable as a class decorator); a name taken by another class
    is refused, registering the same class again changes nothing."""
    if not (isinstance(cls, type) and issubclass(cls, Baseline)):
        raise TypeError(f"{cls!r} is not a Baseline subclass")
    name = check_name(getattr(cls, "name", None), "baseline name")  # it names the baseline's folder in a run
    if BASELINES.get(name, cls) is not cls:
        raise AffcurateError(f"baseline name {name!r} is already taken by {BASELINES[name].__qualname__}")
    BASELINES[name] = cls
    return cls


def make_model(name: str, tasks: tuple[str, ...], **settings: Any) -> Baseline:
    """A fresh baseline ``name`` for ``tasks`` with the run's settings (see :class:`Baseline`)."""
    if name not in BASELINES:
        raise AffcurateError(f"unknown model {name!r}: expected one of {', '.join(BASELINES)}")
    return BASELINES[name](tasks, **settings)
