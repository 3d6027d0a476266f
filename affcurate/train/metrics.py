"""Metrics of the affect tasks (our own code; tests check them against scikit-learn and SciPy).

AU: per-AU F1 and mean F1 (thresholds optionally tuned on validation); EXPR: accuracy, macro-F1, weighted-F1;
VA: CCC, PCC, RMSE and SAGR per dimension and their means; ABAW scores: VA mean CCC, EXPR macro-F1, AU mean F1.
"""

from __future__ import annotations

import numpy as np


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


def au_metrics(y: np.ndarray, prob: np.ndarray, mask: np.ndarray, names: list[str],
               thresholds: np.ndarray | None = None) -> dict[str, float]:
    t = np.full(y.shape[1], 0.5) if thresholds is None else thresholds
    out: dict[str, float] = {}
    f1s = []
    for j, name in enumerate(names):
        m = mask[:, j]
        if m.sum() == 0:
            continue
        f = f1_binary(y[m, j], prob[m, j] >= t[j])
        out[f"f1_{name}"] = f
        f1s.append(f)
    out["f1_mean"] = float(np.mean(f1s)) if f1s else float("nan")
    return out


def f1_per_class(y: np.ndarray, p: np.ndarray, n_classes: int) -> np.ndarray:
    return np.array([f1_binary(y == c, p == c) for c in range(n_classes)])


def expr_metrics(y: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, float]:
    if len(y) == 0:
        return {}
    present = np.unique(np.concatenate([y, pred]))
    f1 = f1_per_class(y, pred, n_classes)
    support = np.bincount(y, minlength=n_classes).astype(float)
    return {
        "accuracy": float((y == pred).mean()),
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float((f1 * support).sum() / support.sum()),
    }


def ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient with population (n) variances."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    d = x.var() + y.var() + (mx - my) ** 2
    return float(2 * cov / d) if d > 0 else float("nan")


def pcc(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    sx, sy = x.std(), y.std()
    if len(x) < 2 or sx == 0 or sy == 0:
        return float("nan")
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def va_metrics(y: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for j, dim in enumerate(("valence", "arousal")):
        m = mask[:, j]
        if m.sum() < 2:
            continue
        a, b = y[m, j], pred[m, j]
        out[f"ccc_{dim}"] = ccc(b, a)
        out[f"pcc_{dim}"] = pcc(b, a)
        out[f"rmse_{dim}"] = float(np.sqrt(((a - b) ** 2).mean()))
        out[f"sagr_{dim}"] = float((np.sign(a) == np.sign(b)).mean())
    for k in ("ccc", "pcc", "rmse", "sagr"):
        vals = [out[f"{k}_{d}"] for d in ("valence", "arousal") if f"{k}_{d}" in out]
        if vals:
            out[f"{k}_mean"] = float(np.nanmean(vals)) if not np.isnan(vals).all() else float("nan")
    return out


def abaw_scores(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """The challenges' headline numbers: VA mean CCC, EXPR macro-F1, AU mean F1."""
    out = {}
    if "va" in metrics and "ccc_mean" in metrics["va"]:
        out["va"] = metrics["va"]["ccc_mean"]
    if "expr" in metrics and "f1_macro" in metrics["expr"]:
        out["expr"] = metrics["expr"]["f1_macro"]
    if "au" in metrics and "f1_mean" in metrics["au"]:
        out["au"] = metrics["au"]["f1_mean"]
    return out
