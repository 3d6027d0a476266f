"""Per-frame weights of the valence-arousal loss from ``train.va_bins`` (seed 004: VA discretised into bins for
class weighting), so that rare regions of the circumplex weigh as much as the crowded centre."""

from __future__ import annotations

import numpy as np


def va_bin(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each value in ``bins`` equal bins over [-1, 1]: [-1, -1 + w), …, [1 - w, 1] (1 is in the last)."""
    return np.clip(np.floor((np.asarray(values, np.float64) + 1.0) / 2.0 * bins).astype(np.int64), 0, bins - 1)


def va_bin_weights(va: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """Weight of each training frame's VA loss: the inverse frequency of its (valence bin, arousal bin) pair
    among the training frames, normalised to mean 1 over the frames with a VA label.

    ``va`` and ``mask`` are (N, 2) (valence, arousal). A dimension a frame has no label for counts as a bin of
    its own, so a set labelled with valence only is weighted by valence bins. Frames without any VA label, and
    every frame when ``bins`` is 0, weigh 1.
    """
    n = len(va)
    w = np.ones(n, np.float64)
    if bins <= 0 or n == 0:
        return w
    idx = np.where(mask, va_bin(np.where(mask, va, 0.0), bins), bins)  # bins: "no label" on that axis
    key = idx[:, 0] * (bins + 1) + idx[:, 1]
    has = mask.any(1)
    if not has.any():
        return w
    counts = np.bincount(key[has], minlength=(bins + 1) ** 2)
    raw = 1.0 / counts[key[has]]
    w[has] = raw / raw.mean()
    return w


def va_bin_counts(va: np.ndarray, mask: np.ndarray, bins: int) -> list[list[int]]:
    """``counts[i][j]``: training frames with both labels in valence bin ``i`` and arousal bin ``j`` (what the
    weights come from; written to the run's config)."""
    both = mask.all(1)
    out = np.zeros((bins, bins), np.int64)
    if bins > 0 and both.any():
        np.add.at(out, (va_bin(va[both, 0], bins), va_bin(va[both, 1], bins)), 1)
    return out.tolist()
