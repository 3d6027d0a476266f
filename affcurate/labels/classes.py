"""Class labels (AU presence, expressions) of many frames, labels and videos at once, through what the
annotators said at each frame: how many gave each class. With a few annotators and classes there are only a
few such profiles, so each frame is numbered by its profile, the fused label and its share are looked up, and
the agreement of each video and label (Krippendorff's nominal alpha, Fleiss' kappa, the formulas of
:mod:`affcurate.labels.agreement`) is computed from how often each profile occurs in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affcurate.errors import AffcurateError

DIRECT = 4096
"""Profiles numbered directly up to this many; beyond, only those that occur are numbered (up to
:data:`COMPACT` through a table of all of them, beyond by sorting)."""
COMPACT = 2**20


@dataclass
class Profiles:
    """Each label's and frame's profile number (labels × frames) and, per profile, the annotators who gave
    each class."""

    number: np.ndarray
    counts: np.ndarray  # profiles × classes

    @property
    def given(self) -> np.ndarray:
        return self.counts.sum(1)


def profiles(per: list[np.ndarray]) -> Profiles:
    """``per[j]``: annotator ``j``'s classes (labels × frames, -1 where none, small whole numbers)."""
    k = len(per)
    n_classes = max(int(max(x.max() for x in per)) + 1, 1) if per[0].size else 1
    radix = k + 1
    top = radix**n_classes  # profiles there can be
    kind = next(t for t in (np.uint8, np.uint16, np.int32, np.int64) if top - 1 <= np.iinfo(t).max)
    number = np.zeros(per[0].shape, kind)
    narrow = k < 256  # the annotators of a class counted in bytes: a comparison's booleans are those bytes
    count = np.empty(per[0].shape, np.uint8 if narrow else np.int32)
    for c in range(n_classes):
        count[...] = 0
        for x in per:
            count += (x == c).view(np.uint8) if narrow else x == c
        number += count * kind(radix**c) if c else count
    if top <= DIRECT:
        codes = np.arange(top)
    elif top <= COMPACT:  # the profiles that occur, numbered in their order through a table of all of them
        codes = np.flatnonzero(np.bincount(number.reshape(-1), minlength=top))
        lookup = np.zeros(top, np.int32)
        lookup[codes] = np.arange(len(codes), dtype=np.int32)
        number = lookup[number]
    else:
        codes, inverse = np.unique(number, return_inverse=True)
        number = inverse.reshape(number.shape)
    counts = np.stack([(codes // radix**c) % radix for c in range(n_classes)], 1)
    return Profiles(number, counts)


def fuse_profiles(p: Profiles, method: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`affcurate.labels.fuse.fuse_discrete` of every profile: (fused class or NaN, share); a frame's are
    its profile's (``fused[p.number]``)."""
    m = p.given
    top = p.counts.max(1)
    best = p.counts.argmax(1)  # the first of the most given classes
    if method == "majority":
        ok = top * 2 > m
    elif method == "unanimous":
        ok = (top == m) & (m > 0)
    else:
        raise AffcurateError(f"unknown fusion {method!r}: expected majority or unanimous")
    fused = np.where(ok, best.astype(np.float32), np.nan)  # whole classes: exact in float32
    share = np.where(m > 0, top.astype(np.float64) / np.maximum(m, 1).astype(np.float64), np.nan)
    return fused, share


def agreement_of_profiles(p: Profiles, k: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per video (``lengths[i]`` consecutive frames) and label: (nominal alpha, Fleiss' kappa, whether any
    annotator labelled it), each videos × labels."""
    n_p = len(p.counts)
    video = np.repeat(np.arange(len(lengths), dtype=np.intp) * n_p, lengths)  # bincount counts intp
    h = np.stack([np.bincount(video + number, minlength=len(lengths) * n_p).reshape(len(lengths), n_p)
                  for number in p.number], 1)  # label by label: one row of keys at a time
    c = p.counts.astype(np.int64)
    m = c.sum(1)
    sq = (c**2).sum(1)
    pair = m >= 2
    complete = m == k
    with np.errstate(divide="ignore", invalid="ignore"):
        n = h @ np.where(pair, m, 0)
        d_o = h.astype(np.float64) @ np.where(pair, (m**2 - sq) / np.where(pair, m - 1, 1), 0.0)
        n_c = h @ (c * pair[:, None])
        d_e = (n.astype(np.float64) ** 2 - (n_c.astype(np.float64) ** 2).sum(-1)) / (n - 1)
        one_value = ((n_c > 0).sum(-1) <= 1) & (((h @ c) > 0).sum(-1) < 2)
        alpha = np.where(d_e == 0, np.where(one_value, 1.0, np.nan), 1 - d_o / d_e)
        frames = h @ (m > 0).astype(np.int64)
        alpha = np.where((k < 2) | (frames < 2) | (n < 2), np.nan, alpha)
        n_full = (h @ complete.astype(np.int64)).astype(np.float64)
        p_j = (h @ (c * complete[:, None])).astype(np.float64) / (n_full * k)[..., None]
        p_e = (p_j**2).sum(-1)
        p_i = np.where(complete, (sq - k) / (k * (k - 1)) if k > 1 else 0.0, 0.0)
        p_bar = (h.astype(np.float64) @ p_i) / n_full
        kappa = np.where(np.isclose(p_e, 1.0), np.where(np.isclose(p_bar, 1.0), 1.0, np.nan),
                         (p_bar - p_e) / (1 - p_e))
        kappa = np.where((n_full == 0) | (k < 2), np.nan, kappa)
    return alpha, kappa, frames > 0
