"""Raters of continuous affect react late, each by their own lag. Before fusion, each VA rater is shifted by the
lag (within a bound) at which their trace agrees best with the mean of the others (Pearson correlation over
valence and arousal together, on the frames both have); ties go to the smaller shift, so a rater already in step
stays unshifted. A rater ``s`` frames late has the value meant for frame ``t`` at ``t + s``."""

from __future__ import annotations

import numpy as np

from affcurate.labels.agreement import nan_mean


def shift(values: np.ndarray, s: int) -> np.ndarray:
    """``values`` (frames along axis 0) moved ``s`` frames earlier (``s > 0``) or later; the frames left empty
    are NaN."""
    out = np.full_like(values, np.nan, dtype=np.float64)
    n = len(values)
    if s >= 0:
        out[: n - s] = values[s:]
    else:
        out[-s:] = values[: n + s]
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3:
        return -np.inf
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else -np.inf


def best_lags(traces: list[np.ndarray], max_shift: int) -> list[int]:
    """For each rater's trace (frames × values, NaN where unrated), the shift in ``[0, max_shift]`` frames that
    best agrees with the mean of the other raters; 0 for every rater when there are fewer than two."""
    if len(traces) < 2 or max_shift <= 0:
        return [0] * len(traces)
    lags = []
    for j, own in enumerate(traces):
        others = np.stack([t for k, t in enumerate(traces) if k != j])
        ref = nan_mean(others, 0)  # frames no other rater rated: NaN
        scores = [_pearson(shift(own, s).ravel(), ref.ravel()) for s in range(max_shift + 1)]
        best = int(np.argmax(scores))  # the first maximum: the smallest shift among equals
        lags.append(best if np.isfinite(scores[best]) else 0)
    return lags
