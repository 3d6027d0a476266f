"""Metrics of the affect tasks (our own code; tests check them against scikit-learn and SciPy).

AU: per-AU F1 and their mean (thresholds optionally tuned on validation); EXPR: accuracy, macro-F1,
weighted-F1; VA, per dimension and their means: RMSE, PCC, CCC (Lin), ICC and SAGR. ICC is ICC(2,1) of
Shrout and Fleiss (two-way random effects, absolute agreement, single rater), the prediction and the ground
truth taken as two raters: :func:`affcurate.labels.agreement.icc_2_1`. ABAW scores: VA mean CCC, EXPR
macro-F1, AU mean F1.

A metric that cannot be computed is ``None`` (``null`` in JSON, "n/a" in tables), never a number; each task's
dict then has an ``"n/a"`` entry, metric → why (e.g. ``"no test frames with arousal labels"``). Cases: no
frames with the task's labels; an AU without positive frames (its F1 is undefined: no recall); fewer than two
frames, or constant predictions or labels, for the correlations PCC, CCC and ICC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from affcurate.labels.agreement import icc_2_1

NA = "n/a"  # key, in a task's metrics, of {metric: why it could not be computed}
DIMS = ("valence", "arousal")


def f1_binary(y: np.ndarray, p: np.ndarray) -> float:
    y, p = np.asarray(y).astype(bool), np.asarray(p).astype(bool)
    tp = float((y & p).sum())
    fp = float((~y & p).sum())
    fn = float((y & ~p).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def tune_thresholds(y: np.ndarray, prob: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per AU, the threshold in 0.05…0.95 that maximises F1 on these (validation) frames."""
    grid = np.linspace(0.05, 0.95, 19)
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        m = mask[:, j]
        if m.sum() == 0 or y[m, j].sum() == 0:
            continue
        scores = [f1_binary(y[m, j], prob[m, j] >= t) for t in grid]
        out[j] = grid[int(np.argmax(scores))]
    return out


def _mean(out: dict[str, Any], key: str, values: list[float | None], why: dict[str, str], reason: str) -> None:
    known = [v for v in values if v is not None]
    out[key] = float(np.mean(known)) if known else None
    if not known:
        why[key] = reason


def _finish(out: dict[str, Any], why: dict[str, str]) -> dict[str, Any]:
    if why:
        out[NA] = why
    return out


def au_metrics(y: np.ndarray, prob: np.ndarray, mask: np.ndarray, names: list[str],
               thresholds: np.ndarray | None = None, part: str = "test") -> dict[str, Any]:
    """``f1_<AU>`` for every AU and ``f1_mean``, the mean over the AUs whose F1 is defined."""
    t = np.full(y.shape[1], 0.5) if thresholds is None else thresholds
    out: dict[str, Any] = {}
    why: dict[str, str] = {}
    for j, name in enumerate(names):
        m = mask[:, j]
        key = f"f1_{name}"
        if m.sum() == 0:
            out[key], why[key] = None, f"no {part} frames with {name} labels"
        elif y[m, j].sum() == 0:
            out[key], why[key] = None, f"no {part} frames with {name} present"
        else:
            out[key] = f1_binary(y[m, j], prob[m, j] >= t[j])
    reason = (f"no {part} frames with AU labels" if not mask.any()
              else f"no AU is present in the {part} frames")
    _mean(out, "f1_mean", [out[f"f1_{n}"] for n in names], why, reason)
    return _finish(out, why)


def f1_per_class(y: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    return np.array([f1_binary(y == c, p == c) for c in range(n_classes)])


def expr_metrics(y: np.ndarray, pred: np.ndarray, n_classes: int, part: str = "test") -> dict[str, Any]:
    """Accuracy, macro-F1 (over the classes in the labels or the predictions) and weighted-F1."""
    keys = ("accuracy", "f1_macro", "f1_weighted")
    if len(y) == 0:
        return _finish(dict.fromkeys(keys), dict.fromkeys(keys, f"no {part} frames with expression labels"))
    present = np.unique(np.concatenate([y, pred]))
    f1 = f1_per_class(y, pred, n_classes)
    support = np.bincount(y, minlength=n_classes).astype(float)
    return {
        "accuracy": float((y == pred).mean()),
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float((f1 * support).sum() / support.sum()),
    }


def ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient with population (n) variances; NaN when undefined."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    d = x.var() + y.var() + (mx - my) ** 2
    return float(2 * cov / d) if d > 0 else float("nan")


def pcc(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation; NaN when undefined."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    sx, sy = x.std(), y.std()
    if len(x) < 2 or sx == 0 or sy == 0:
        return float("nan")
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def icc(pred: np.ndarray, truth: np.ndarray) -> float:
    """ICC(2,1) between prediction and ground truth as two raters (absolute agreement); NaN when undefined."""
    return icc_2_1(np.column_stack([np.asarray(pred, np.float64), np.asarray(truth, np.float64)]))


def _constant(x: np.ndarray) -> bool:
    return bool(np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())))


def va_metrics(y: np.ndarray, pred: np.ndarray, mask: np.ndarray, part: str = "test") -> dict[str, Any]:
    """``ccc``, ``pcc``, ``icc``, ``rmse`` and ``sagr`` of each dimension (``ccc_valence``, …) and their
    ``_mean`` over the dimensions where each is defined."""
    out: dict[str, Any] = {}
    why: dict[str, str] = {}
    for j, dim in enumerate(DIMS):
        m = mask[:, j]
        a, b = y[m, j].astype(np.float64), pred[m, j].astype(np.float64)
        keys = [f"{k}_{dim}" for k in ("ccc", "pcc", "icc")]
        if len(a) == 0:
            for k in (*keys, f"rmse_{dim}", f"sagr_{dim}"):
                out[k], why[k] = None, f"no {part} frames with {dim} labels"
            continue
        out[f"rmse_{dim}"] = float(np.sqrt(((a - b) ** 2).mean()))
        out[f"sagr_{dim}"] = float((np.sign(a) == np.sign(b)).mean())
        reason = (f"fewer than 2 {part} frames with {dim} labels" if len(a) < 2 else
                  f"constant {dim} predictions" if _constant(b) else
                  f"constant {dim} labels in the {part} frames" if _constant(a) else None)
        if reason is not None:  # a correlation of a constant says nothing (a collapsed model, or the prior)
            for k in keys:
                out[k], why[k] = None, reason
            continue
        for k, fn in zip(keys, (ccc, pcc, icc), strict=True):
            v = fn(b, a)
            out[k] = None if np.isnan(v) else v
            if out[k] is None:
                why[k] = "undefined"
    for k in ("ccc", "pcc", "icc", "rmse", "sagr"):
        dims = [out[f"{k}_{d}"] for d in DIMS]
        said = {why[f"{k}_{d}"].replace(d, "VA") for d in DIMS if f"{k}_{d}" in why}
        reason = said.pop() if len(said) == 1 else "; ".join(f"{d}: {why[f'{k}_{d}']}" for d in DIMS if f"{k}_{d}" in why)
        _mean(out, f"{k}_mean", dims, why, reason)
    return _finish(out, why)


def abaw_scores(metrics: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The challenges' headline numbers: VA mean CCC, EXPR macro-F1, AU mean F1 (None: not computable)."""
    out = {}
    for task, key in (("va", "ccc_mean"), ("expr", "f1_macro"), ("au", "f1_mean")):
        if task in metrics and key in metrics[task]:
            out[task] = metrics[task][key]
    return out


def why_not(metrics: dict[str, Any], task: str, key: str) -> str | None:
    """Why ``metrics[task][key]`` is None, if it is."""
    return metrics.get(task, {}).get(NA, {}).get(key)
