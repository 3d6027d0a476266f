"""Fusing annotators frame by frame: VA by mean, median or agreement-weighted mean; AU and expression by
majority or unanimity."""

from __future__ import annotations

import numpy as np

from affcurate.errors import AffcurateError
from affcurate.labels.agreement import category_counts, ccc, nan_mean


def fuse_continuous(values: np.ndarray, method: str) -> np.ndarray:
    """``values`` frames × annotators (NaN = missing) → one value per frame (NaN where none is given)."""
    if values.shape[1] == 1:
        return values[:, 0].copy()
    if method == "mean":
        return nan_mean(values, 1)
    if method == "median":
        out = np.full(len(values), np.nan)
        some = ~np.isnan(values).all(1)
        out[some] = np.nanmedian(values[some], 1)
        return out
    if method == "weighted":
        return weighted_rows(values, fusion_weights(values)[None, :])
    raise AffcurateError(f"unknown VA fusion {method!r}: expected mean, median or weighted")


def fusion_weights(values: np.ndarray) -> np.ndarray:
    """Each annotator's weight in the weighted fusion: their mean CCC with the others (negative: 0; none shared:
    0), over the frames × annotators ``values`` of one video."""
    k = values.shape[1]
    w = np.array([nan_mean(np.array([ccc(values[:, i], values[:, j]) for j in range(k) if j != i]))
                  for i in range(k)])
    return np.clip(np.nan_to_num(w, nan=0.0), 0, None) + 1e-6


def weighted_rows(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted mean of each row of ``values`` over the annotators who gave one; ``weights`` is one row of
    weights per annotator, or one per frame (videos stacked, each with its own)."""
    ww = np.where(np.isnan(values), 0, weights)
    total = ww.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(values * ww, 1) / np.maximum(total, 1e-12), np.nan)


def fuse_discrete(values: np.ndarray, method: str,
                  counted: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class labels frames × annotators → (fused label or NaN, share of annotators agreeing with it).

    majority: the label more than half of the annotators who labelled the frame gave; unanimous: the label
    all of them gave (seed 003 keeps a label only where all three agree). ``counted``: the
    :func:`affcurate.labels.agreement.category_counts` of ``values``, when they are counted already."""
    n, k = values.shape
    labelled = (~np.isnan(values)).sum(1)
    if k == 1:
        return values[:, 0].copy(), np.where(labelled > 0, 1.0, np.nan)
    cats, counts = counted or category_counts(np.where(np.isnan(values), -1, values).astype(np.int64))
    if len(cats) == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    best = counts.argmax(1)
    top = counts[np.arange(n), best]
    share = np.where(labelled > 0, top / np.maximum(labelled, 1), np.nan)
    if method == "majority":
        ok = top * 2 > labelled
    elif method == "unanimous":
        ok = (top == labelled) & (labelled > 0)
    else:
        raise AffcurateError(f"unknown fusion {method!r}: expected majority or unanimous")
    return np.where(ok, cats[best].astype(np.float64), np.nan), share

