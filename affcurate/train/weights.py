"""Per-frame weights of the valence-arousal loss from ``train.va_bins`` (seed 004: VA discretised into bins for
class weighting), so that rare regions of the circumplex weigh as much as the crowded centre."""

from __future__ import annotations

import numpy as np


def va_bin(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each value in ``bins`` equal bins over [-1, 1]: [-1, -1 + w), …, [1 - w, 1] (1 is in the last)."""
    return np.clip(np.floor((np.asarray(values, np.float64) + 1.0) / 2.0 * bins).astype(np.int64), 0, bins - 1)


def _pairs(va: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """Each frame's (valence bin, arousal bin) as one key; a dimension without a label is bin ``bins``."""
    idx = np.where(mask, va_bin(np.where(mask, va, 0.0), bins), bins)
    return idx[:, 0] * (bins + 1) + idx[:, 1]


def va_bin_weights(va: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """Weight of each training frame's VA loss: the inverse frequency of its (valence bin, arousal bin) pair
    among the training frames, normalised to mean 1 over the frames with a VA label.

    ``va`` and ``mask`` are (N, 2) (valence, arousal). A dimension a frame has no label for counts as a bin of
    its own, so a set labelled with valence only is weighted by valence bins. Frames without any VA label, and
    every frame when ``bins`` is 0, weigh 1.
    """
    w = np.ones(len(va), np.float64)
    has = mask.any(1)
    if bins <= 0 or not has.any():
        return w
    key = _pairs(va, mask, bins)
    counts = np.bincount(key[has], minlength=(bins + 1) ** 2)
    raw = 1.0 / counts[key[has]]
    w[has] = raw / raw.mean()
    return w


def va_bin_table(va: np.ndarray, mask: np.ndarray, bins: int) -> list[dict[str, int | float | None]]:
    """The bin pairs of the training frames with their frame count and weight (what the run's config records);
    a bin is None on an axis the frames have no label for."""
    has = mask.any(1)
    if bins <= 0 or not has.any():
        return []
    key = _pairs(va, mask, bins)[has]
    weight = va_bin_weights(va, mask, bins)[has]
    out: list[dict[str, int | float | None]] = []
    for k in np.unique(key):
        v, a = divmod(int(k), bins + 1)
        out.append({"valence_bin": None if v == bins else v, "arousal_bin": None if a == bins else a,
                    "frames": int((key == k).sum()), "weight": round(float(weight[key == k][0]), 6)})
    return out
