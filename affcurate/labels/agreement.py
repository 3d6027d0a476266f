"""Agreement between annotators: Krippendorff's alpha, Fleiss' kappa, ICC(2,1) and Lin's CCC."""

from __future__ import annotations

import itertools

import numpy as np


def nan_mean(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """The mean of the values given along ``axis`` (NaN where none is), as ``np.nanmean`` gives it, without its
    warning for an empty slice (warning filters are the process's, not a thread's, so merge's threads cannot
    silence them)."""
    a = np.asarray(a, np.float64)
    given = (~np.isnan(a)).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(given > 0, np.nansum(a, axis) / given, np.nan)


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


def nominal_alpha(values: np.ndarray, counts: np.ndarray | None = None) -> float:
    """Krippendorff's alpha with the nominal metric, in closed form from each frame's category counts:
    ``1 − (n − 1) Σ_u (m_u² − Σ_c n_uc²) / (m_u − 1) / (n² − Σ_c n_c²)`` over the frames that two or more
    annotators labelled. ``counts`` (frames × categories, from :func:`category_counts`) saves counting again."""
    v = np.asarray(values, np.float64)
    if counts is None:
        counts = category_counts(np.where(np.isnan(v), -1, v).astype(np.int64))[1]
    m = counts.sum(1)
    if v.shape[1] < 2 or (m > 0).sum() < 2:  # fewer than two annotators or two labelled frames: undefined
        return float("nan")
    pairable = m >= 2
    counts, m = counts[pairable].astype(np.float64), m[pairable].astype(np.float64)
    n = m.sum()
    if n < 2:
        return float("nan")
    d_o = ((m**2 - (counts**2).sum(1)) / (m - 1)).sum()
    n_c = counts.sum(0)
    d_e = (n**2 - (n_c**2).sum()) / (n - 1)
    if d_e == 0:  # 1 when everyone said the same single value everywhere; else undefined
        return 1.0 if (counts.sum(0) > 0).sum() <= 1 and len(np.unique(v[~np.isnan(v)])) < 2 else float("nan")
    return float(1 - d_o / d_e)


def alpha(values: np.ndarray, level: str) -> float:
    """Krippendorff's alpha; ``values`` is frames × annotators, NaN = missing; level nominal or interval."""
    if level == "interval":
        return interval_alpha(values)
    if level == "nominal":
        return nominal_alpha(values)
    raise ValueError(f"unknown level {level!r}: expected nominal or interval")


def category_counts(filled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class labels frames × annotators (-1 = none) → (the classes present, frames × classes counts)."""
    n, _ = filled.shape
    given = filled >= 0
    values = filled[given]
    if len(values) and values.max() < 64:  # presence and expressions: a few small classes, counted by comparing
        cats = np.flatnonzero(np.bincount(values))
        return cats, np.stack([(filled == c).sum(1) for c in cats], 1)
    cats = np.unique(values)
    if len(cats) == 0:
        return cats, np.zeros((n, 0), np.int64)
    rows = np.broadcast_to(np.arange(n)[:, None], filled.shape)[given]
    index = rows * len(cats) + np.searchsorted(cats, filled[given])
    return cats, np.bincount(index, minlength=n * len(cats)).reshape(n, len(cats))


def nominal_agreement(values: np.ndarray) -> tuple[float, float]:
    """(Krippendorff's nominal alpha, Fleiss' kappa) of frames × annotators, counting the categories once."""
    v = np.asarray(values, np.float64)
    counts = category_counts(np.where(np.isnan(v), -1, v).astype(np.int64))[1]
    complete = ~np.isnan(v).any(1)
    return nominal_alpha(v, counts), _fleiss(counts[complete], v.shape[1])


def fleiss_kappa(values: np.ndarray) -> float:
    """Fleiss' kappa over the frames that every annotator labelled (nominal categories)."""
    full = values[~np.isnan(values).any(1)]
    if full.ndim != 2 or len(full) == 0:
        return float("nan")
    return _fleiss(category_counts(full.astype(np.int64))[1], full.shape[1])


def _fleiss(counts: np.ndarray, k: int) -> float:
    """Fleiss' kappa from the category counts of the complete frames (each row sums to ``k``)."""
    n = len(counts)
    if n == 0 or k < 2:
        return float("nan")
    counts = counts.astype(np.float64)
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


def segment_sum(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sums of ``a`` (along axis 0) over consecutive segments of rows; 0 for an empty segment."""
    if len(a) == 0:
        return np.zeros((len(starts), *a.shape[1:]), a.dtype if a.dtype != bool else np.int64)
    a = a.astype(np.int64) if a.dtype == bool else a
    sums = np.add.reduceat(a, np.minimum(starts, len(a) - 1), axis=0)
    empty = (lengths == 0).reshape((-1,) + (1,) * (a.ndim - 1))
    return np.where(empty, 0, sums)


def nominal_agreement_by(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                         counted: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nominal_agreement` of each segment of rows (a video: ``lengths[i]`` rows from ``starts[i]``) at
    once: (Krippendorff's nominal alpha, Fleiss' kappa) per segment. ``counted``: :func:`category_counts` of
    ``values`` already done."""
    v = np.asarray(values, np.float64)
    k = v.shape[1]
    cats, counts = counted or category_counts(np.where(np.isnan(v), -1, v).astype(np.int64))
    counts = counts.astype(np.float64)
    m = counts.sum(1)
    sq = (counts**2).sum(1)
    pairable = m >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        d_o_rows = np.where(pairable, (m**2 - sq) / np.where(pairable, m - 1, 1), 0.0)
        n = segment_sum(np.where(pairable, m, 0.0), starts, lengths)
        d_o = segment_sum(d_o_rows, starts, lengths)
        n_c = segment_sum(counts * pairable[:, None], starts, lengths)
        d_e = (n**2 - (n_c**2).sum(1)) / (n - 1)
        a = 1 - d_o / d_e
        one_value = ((n_c > 0).sum(1) <= 1) & ((segment_sum(counts, starts, lengths) > 0).sum(1) < 2)
        a = np.where(d_e == 0, np.where(one_value, 1.0, np.nan), a)
        labelled = segment_sum(m > 0, starts, lengths)
        a = np.where((k < 2) | (labelled < 2) | (n < 2), np.nan, a)
        # Fleiss' kappa over the frames every annotator labelled
        complete = ~np.isnan(v).any(1)
        n_full = segment_sum(complete, starts, lengths).astype(np.float64)
        p_j = segment_sum(counts * complete[:, None], starts, lengths) / (n_full * k)[:, None]
        p_i = np.where(complete, (sq - k) / (k * (k - 1)) if k > 1 else 0.0, 0.0)
        p_bar = segment_sum(p_i, starts, lengths) / n_full
        p_e = (p_j**2).sum(1)
        close = np.isclose(p_e, 1.0)
        kappa = np.where(close, np.where(np.isclose(p_bar, 1.0), 1.0, np.nan), (p_bar - p_e) / (1 - p_e))
        kappa = np.where((n_full == 0) | (k < 2), np.nan, kappa)
    if len(cats) == 0:
        return np.full(len(starts), np.nan), np.full(len(starts), np.nan)
    return a, kappa



def continuous_agreement_by(values: np.ndarray, starts: np.ndarray,
                            lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment of rows (a video): (:func:`interval_alpha`, :func:`icc_2_1`, :func:`mean_pairwise_ccc`) of
    frames × annotators ``values``, from sums over each segment's rows (annotators are summed as whole rows
    of frames: there are few of them and many frames)."""
    v = np.asarray(values, np.float64).T  # annotators × frames
    k = v.shape[0]
    given = ~np.isnan(v)
    filled = np.where(given, v, 0.0)

    def seg(a: np.ndarray) -> np.ndarray:
        return segment_sum(a, starts, lengths)

    def per_row(a: np.ndarray) -> np.ndarray:
        return np.repeat(a, lengths, axis=0)

    with np.errstate(divide="ignore", invalid="ignore"):
        m = given.sum(0)
        pair = m >= 2
        # Krippendorff's interval alpha
        row_mean = filled.sum(0) / m
        spread = (np.where(given, filled - row_mean, 0.0) ** 2).sum(0) / m  # each frame's variance
        within = np.where(pair, spread * m**2 * 2 / np.where(pair, m - 1, 1), 0.0)
        n = seg(np.where(pair, m, 0))
        d_o = seg(within) / n
        in_pair = given & pair
        mean = seg(np.where(in_pair, filled, 0.0).sum(0)) / n
        var = seg(np.where(in_pair, (filled - per_row(mean)) ** 2, 0.0).sum(0)) / n
        d_e = 2 * n * var / (n - 1)
        a = np.where(d_e == 0, np.where(d_o == 0, 1.0, np.nan), 1 - d_o / d_e)
        a = np.where(n < 2, np.nan, a)
        # ICC(2,1) on the frames every annotator rated
        full = given.all(0)
        nf = seg(full).astype(np.float64)
        grand = seg(np.where(full, filled.sum(0), 0.0)) / (nf * k)
        g_row = per_row(grand)
        ss_rows = k * seg(np.where(full, (filled.mean(0) - g_row) ** 2, 0.0))
        col_means = np.stack([seg(np.where(full, x, 0.0)) for x in filled], 1) / nf[:, None]
        ss_cols = nf * ((col_means - grand[:, None]) ** 2).sum(1)
        ss_total = seg(np.where(full, ((filled - g_row) ** 2).sum(0), 0.0))
        ss_err = ss_total - ss_rows - ss_cols
        msr, msc = ss_rows / (nf - 1), ss_cols / (k - 1)
        mse = ss_err / ((nf - 1) * (k - 1))
        denom = msr + (k - 1) * mse + k * (msc - mse) / nf
        icc = np.where((nf < 2) | ~(denom > 0), np.nan, (msr - mse) / denom)
        # Lin's CCC of every pair of annotators, averaged
        scores = []
        for i, j in itertools.combinations(range(k), 2):
            ok = given[i] & given[j]
            x, y = np.where(ok, filled[i], 0.0), np.where(ok, filled[j], 0.0)
            cnt = seg(ok).astype(np.float64)
            mx, my = seg(x) / cnt, seg(y) / cnt
            dx, dy = np.where(ok, x - per_row(mx), 0.0), np.where(ok, y - per_row(my), 0.0)
            vx, vy, cov = seg(dx * dx) / cnt, seg(dy * dy) / cnt, seg(dx * dy) / cnt
            d = vx + vy + (mx - my) ** 2
            close = seg(ok & ~(np.abs(x - y) <= 1e-8 + 1e-5 * np.abs(y))) == 0
            scores.append(np.where(cnt < 2, np.nan, np.where(d > 0, 2 * cov / d, np.where(close, 1.0, np.nan))))
        ccc_mean = nan_mean(np.stack(scores, 1), 1) if scores else np.full(len(starts), np.nan)
    return a, icc, ccc_mean
