"""Chance level of every metric: what a model that learnt nothing scores on the same frames, printed beside the
models in the benchmark table and the model card so that a score can be read against it.

Computed from the labels of the part the models are scored on (test; validation or train for a run without a
test part), per metric:

- AU F1 (each AU, and their mean): F1 of always saying "present": ``2p / (1 + p)`` for an AU present on a
  share ``p`` of the frames (recall 1, precision ``p``);
- expression accuracy: always the most frequent class (its share of the frames);
- expression macro-F1 and weighted-F1: a guess drawn uniformly from the ``C`` classes, whose expected F1 for a
  class of share ``p`` is ``2 p / C / (p + 1 / C)`` (precision ``p``, recall ``1 / C``); macro: the mean over the
  ``C`` classes, weighted: by the share of each;
- valence and arousal CCC, PCC and ICC: 0 (a constant, or a guess independent of the face, correlates with
  nothing); RMSE: that of always saying the mean of the labels (their standard deviation); SAGR: always the
  most frequent sign (its share).

A metric without the labels to compute it has no chance level (None), as it has no score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from affcurate.train.metrics import DIMS

if TYPE_CHECKING:
    from affcurate.train.data import Index

NAME = "chance"  # the row of the chance levels in the tables
NOTE = ("chance: what a model that learnt nothing scores on the same frames: AU F1 of always present, EXPR "
        "accuracy of the most frequent class, EXPR F1 of a uniform random guess over the classes, CCC, PCC and "
        "ICC 0, RMSE of always the mean label, SAGR of always the most frequent sign.")


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def au_levels(index: Index) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for j, name in enumerate(index.aus):
        m = index.au_mask[:, j]
        p = float(index.au[m, j].mean()) if m.any() else 0.0
        out[f"f1_{name}"] = 2 * p / (1 + p) if p > 0 else None  # no positives: F1 is undefined, as the model's
    out["f1_mean"] = _mean([out[f"f1_{n}"] for n in index.aus])
    return out


def expr_levels(index: Index) -> dict[str, float | None]:
    y = index.expr[index.expr >= 0]
    if not len(y):
        return {"accuracy": None, "f1_macro": None, "f1_weighted": None}
    c = max(index.n_expr, 1)
    share = np.bincount(y, minlength=c).astype(np.float64) / len(y)
    f1 = np.where(share > 0, 2 * share / c / np.maximum(share + 1 / c, 1e-12), 0.0)
    return {"accuracy": float(share.max()), "f1_macro": float(f1.mean()), "f1_weighted": float((f1 * share).sum())}


def va_levels(index: Index) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for j, dim in enumerate(DIMS):
        y = index.va[index.va_mask[:, j], j].astype(np.float64)
        known = len(y) > 0
        for k in ("ccc", "pcc", "icc"):
            out[f"{k}_{dim}"] = 0.0 if known else None
        out[f"rmse_{dim}"] = float(y.std()) if known else None
        out[f"sagr_{dim}"] = float(np.unique(np.sign(y), return_counts=True)[1].max() / len(y)) if known else None
    for k in ("ccc", "pcc", "icc", "rmse", "sagr"):
        out[f"{k}_mean"] = _mean([out[f"{k}_{d}"] for d in DIMS])
    return out


def levels(index: Index, tasks: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per task of ``tasks``, the chance level of each of its metrics (keys as in the models' metrics)."""
    fns = {"au": au_levels, "expr": expr_levels, "va": va_levels}
    return {t: fns[t](index) for t in tasks if t in fns}


def mean(per_part: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The mean over the folds of each chance level (of the folds where it is defined)."""
    out: dict[str, dict[str, Any]] = {}
    for part in per_part:
        for task, values in part.items():
            for key in values:
                out.setdefault(task, {})[key] = _mean([p.get(task, {}).get(key) for p in per_part])
    return out
