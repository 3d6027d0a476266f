"""Agreement between annotators: Krippendorff's alpha, Fleiss' kappa, ICC(2,1) and Lin's CCC."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np


def ccc(x: np.ndarray, y: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (population variances), on the pairs where both exist."""
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = np.asarray(x, np.float64)[ok], np.asarray(y, np.float64)[ok]
    if len(x) < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(), y.var()
    cov = ((x - mx) * (y - my)).mean()
    denom = vx + vy + (mx - my) ** 2
    return float(2 * cov / denom) if denom > 0 else (1.0 if np.allclose(x, y) else float("nan"))


def mean_pairwise_ccc(values: np.ndarray) -> float:
    """Mean CCC over every pair of annotators; ``values`` is frames × annotators (NaN = missing)."""
    k = values.shape[1]
    scores = [ccc(values[:, i], values[:, j]) for i, j in itertools.combinations(range(k), 2)]
    scores = [s for s in scores if not np.isnan(s)]
    return float(np.mean(scores)) if scores else float("nan")


def interval_alpha(values: np.ndarray) -> float:
    """Krippendorff's alpha with the interval (squared difference) metric, in closed form: for continuous
    ratings the coincidence matrix of the general formula would have one row per distinct value."""
    v = np.asarray(values, np.float64)
    m = (~np.isnan(v)).sum(1)
    v = v[m >= 2]
    m = m[m >= 2]
    n = m.sum()
    if n < 2:
        return float("nan")
    within = np.nanvar(v, axis=1) * m**2 * 2 / (m - 1)   # Σ_{i≠j}(vi−vj)² / (m−1) per frame
    d_o = within.sum() / n
    allv = v[~np.isnan(v)]
    d_e = 2 * n * allv.var() / (n - 1)
    if d_e == 0:
        return 1.0 if d_o == 0 else float("nan")
    return float(1 - d_o / d_e)


def alpha(values: np.ndarray, level: str) -> float:
    """Krippendorff's alpha; ``values`` is frames × annotators, NaN = missing; level nominal or interval."""
    if level == "interval":
        return interval_alpha(values)
    data = values.T.astype(np.float64)
    if data.shape[0] < 2 or np.sum(~np.isnan(data).all(0)) < 2:
        return float("nan")
    observed = data[~np.isnan(data)]
    if len(np.unique(observed)) < 2:
        return 1.0  # everyone said the same single value everywhere
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # no expected disagreement: alpha is undefined, NaN
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def category_counts(filled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class labels frames × annotators (-1 = none) → (the classes present, frames × classes counts).

    Summed column by column: numpy reduces a short axis of a tall array slowly, and annotators are few."""
    n, k = filled.shape
    cats = np.unique(filled[filled >= 0])
    if len(cats) == 0:
        return cats, np.zeros((n, 0), np.int64)
    cols = [filled[:, j] for j in range(k)]
    counts = np.stack([np.sum([col == c for col in cols], axis=0, dtype=np.int64) for c in cats], 1)
    return cats, counts


def fleiss_kappa(values: np.ndarray) -> float:
    """Fleiss' kappa over the frames that every annotator labelled (nominal categories)."""
    full = values[~np.isnan(values).any(1)]
    n, k = full.shape if full.ndim == 2 else (0, 0)
    if n == 0 or k < 2:
        return float("nan")
    counts = category_counts(full.astype(np.int64))[1].astype(np.float64)
    p_j = counts.sum(0) / (n * k)
    p_i = ((counts**2).sum(1) - k) / (k * (k - 1))
    p_bar, p_e = p_i.mean(), (p_j**2).sum()
    if np.isclose(p_e, 1.0):
        return 1.0 if np.isclose(p_bar, 1.0) else float("nan")
    return float((p_bar - p_e) / (1 - p_e))


def icc_2_1(values: np.ndarray) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout and Fleiss), on complete
    frames."""
    full = values[~np.isnan(values).any(1)]
    n, k = full.shape
    if n < 2 or k < 2:
        return float("nan")
    grand = full.mean()
    ss_rows = k * ((full.mean(1) - grand) ** 2).sum()
    ss_cols = n * ((full.mean(0) - grand) ** 2).sum()
    ss_total = ((full - grand) ** 2).sum()
    ss_err = ss_total - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    return float((msr - mse) / denom) if denom > 0 else float("nan")
