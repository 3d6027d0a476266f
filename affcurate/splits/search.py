"""The search of `affcurate split`: groups (subjects) with their label counts, the score of an assignment of groups
to parts, and the draws and local search that look for a low one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRACTION_WEIGHT = 3.0
# weights of the total-variation distances (points) beside the AU gaps; the 100-bin VA histogram is noisy
KIND_WEIGHTS = {"expr": 0.3, "va": 0.1, "extra": 0.5}
OUTSIDE = 1e6   # the score of an assignment with a part outside the tolerance starts here


@dataclass
class Features:
    """Per group (subject): frames, and numerators/denominators of every balanced rate."""

    groups: list[str]
    videos: dict[str, list[str]]
    frames: np.ndarray                  # (G,)
    num: np.ndarray                     # (G, F)
    den: np.ndarray                     # (G, F)
    kinds: dict[str, slice]             # feature block per kind: au, expr, va, extra
    au_names: list[str]


class Objective:
    """Score of an assignment (lower is better): distance of the frame fractions from their targets, the
    largest AU-rate gap between splits, and total-variation distances of the histograms, all in points. With a
    ``tolerance``, an assignment with a part further than that from its target scores above ``OUTSIDE``."""

    def __init__(self, f: Features, targets: np.ndarray, tolerance: float | None = None):
        self.f = f
        self.t = targets
        self.tolerance = tolerance
        self.total = f.frames.sum()

    def sums(self, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = len(self.t)
        n = np.zeros(k)
        num = np.zeros((k, self.f.num.shape[1]))
        den = np.zeros((k, self.f.den.shape[1]))
        np.add.at(n, assign, self.f.frames)
        np.add.at(num, assign, self.f.num)
        np.add.at(den, assign, self.f.den)
        return n, num, den

    def score_sums(self, n: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """Vectorised over leading axes: n (..., k), num/den (..., k, F)."""
        frac = n / self.total
        score = FRACTION_WEIGHT * 100 * np.abs(frac - self.t).sum(-1)
        if self.tolerance is not None:
            # a part outside the tolerance costs more than any balance can win back; the excess says which way
            over = (np.abs(frac - self.t) - self.tolerance).max(-1)
            score = score + np.where(over > 1e-9, OUTSIDE + 1e4 * over, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
        for kind, sl in self.f.kinds.items():
            r = rate[..., sl]
            if kind == "au":
                # the largest gap is what a reader checks; the mean gap keeps the search moving on a plateau
                gap = np.nan_to_num(np.nanmax(r, -2) - np.nanmin(r, -2), nan=0.0)
                score = score + 100 * (gap.max(-1, initial=0.0) + gap.mean(-1))
            else:
                pair = np.abs(r[..., :, None, :] - r[..., None, :, :])
                tv = 0.5 * np.nan_to_num(pair, nan=0.0).sum(-1).max((-1, -2))
                score = score + 100 * KIND_WEIGHTS[kind] * tv
        return score

    def __call__(self, assign: np.ndarray) -> float:
        return float(self.score_sums(*self.sums(assign)))

    def max_au_gap(self, assign: np.ndarray) -> float:
        n, num, den = self.sums(assign)
        sl = self.f.kinds.get("au")
        if sl is None:
            return 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(den[:, sl] > 0, num[:, sl] / np.maximum(den[:, sl], 1e-12), np.nan)
        return float(100 * np.nan_to_num(np.nanmax(r, 0) - np.nanmin(r, 0), nan=0).max(initial=0))


def random_draw(frames: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seed 001: groups in random order fill the first split until it reaches its share, then the next."""
    order = rng.permutation(len(frames))
    assign = np.zeros(len(frames), dtype=np.int64)
    bounds = np.cumsum(targets) * frames.sum()
    cum = np.cumsum(frames[order]) - frames[order] / 2
    assign[order] = np.minimum(np.searchsorted(bounds, cum, side="right"), len(targets) - 1)
    return assign


def greedy(f: Features, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Largest groups first, each to the split furthest below its frame target."""
    order = np.lexsort((rng.random(len(f.frames)), -f.frames))
    want = targets * f.frames.sum()
    have = np.zeros(len(targets))
    assign = np.zeros(len(f.frames), dtype=np.int64)
    for g in order:
        s = int(np.argmax((want - have) / np.maximum(want, 1e-9)))
        assign[g] = s
        have[s] += f.frames[g]
    return assign


def local_search(obj: Objective, assign: np.ndarray, rng: np.random.Generator, rounds: int = 3000,
                  batch: int = 256, patience: int = 60) -> np.ndarray:
    """Improve by the best of a batch of random moves (a group to another split) and swaps (two groups of
    different splits trade places), until a few rounds in a row bring nothing."""
    k = len(obj.t)
    G = len(assign)
    n, num, den = obj.sums(assign)
    best = float(obj.score_sums(n, num, den))
    stale = 0
    fr, X, D = obj.f.frames, obj.f.num, obj.f.den
    for _ in range(rounds):
        # moves
        g = rng.integers(0, G, batch)
        to = (assign[g] + rng.integers(1, k, batch)) % k if k > 1 else assign[g]
        frm = assign[g]
        n2 = np.repeat(n[None], batch, 0)
        num2 = np.repeat(num[None], batch, 0)
        den2 = np.repeat(den[None], batch, 0)
        idx = np.arange(batch)
        n2[idx, frm] -= fr[g]
        n2[idx, to] += fr[g]
        num2[idx, frm] -= X[g]
        num2[idx, to] += X[g]
        den2[idx, frm] -= D[g]
        den2[idx, to] += D[g]
        s_move = obj.score_sums(n2, num2, den2)
        # swaps
        h = rng.integers(0, G, batch)
        a_s, b_s = assign[g], assign[h]
        n3 = np.repeat(n[None], batch, 0)
        num3 = np.repeat(num[None], batch, 0)
        den3 = np.repeat(den[None], batch, 0)
        for arr, vals in ((n3, fr), (num3, X), (den3, D)):
            arr[idx, a_s] += vals[h] - vals[g]
            arr[idx, b_s] += vals[g] - vals[h]
        s_swap = np.where(a_s != b_s, obj.score_sums(n3, num3, den3), np.inf)
        i_m, i_s = int(np.argmin(s_move)), int(np.argmin(s_swap))
        if min(s_move[i_m], s_swap[i_s]) < best - 1e-9:
            if s_move[i_m] <= s_swap[i_s]:
                assign[g[i_m]] = to[i_m]
                n, num, den, best = n2[i_m], num2[i_m], den2[i_m], float(s_move[i_m])
            else:
                assign[g[i_s]], assign[h[i_s]] = b_s[i_s], a_s[i_s]
                n, num, den, best = n3[i_s], num3[i_s], den3[i_s], float(s_swap[i_s])
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    return assign

