"""Can the frame targets be met with whole subjects? The assignment of groups (subjects) to parts whose frame
fractions are closest to the targets: the largest miss of any part first, then the sum of the misses.

Few groups are searched exactly: a branch-and-bound over the groups, largest first, keeping every distinct tuple
of part sums that can still end within the bound (parts with equal targets are interchangeable, so their sums
are kept sorted). Within ``EXACT_STATES`` tuples per group and ``WORK`` in all it is exhaustive, so up to 13
groups in 3 parts, 20 in 2 and 9 in 5 folds it is always exact; beyond that it is often still exact, because the
bound prunes, and otherwise the best of greedy and a local search stands (never worse than greedy alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affcurate.splits.search import Features, greedy

EXACT_STATES = 2_000_000   # part-sum tuples × parts held at once (about 50 MB for 3 parts)
SWAP_PAIRS = 250_000       # swaps tried per round of the local search
WORK = 2 * EXACT_STATES     # part-sum tuples over all groups: a bound on the search's time (about a second)
EPS = 1e-9


@dataclass
class Closest:
    """The closest assignment found, its frame fractions, and whether it is proven that no assignment has a
    smaller largest miss (``exact``)."""

    assign: np.ndarray
    fractions: np.ndarray
    exact: bool

    def miss(self, targets: np.ndarray) -> float:
        """The largest distance of a part's share of frames from its target."""
        return float(np.abs(self.fractions - targets).max())


def _misses(sums: np.ndarray, total: float, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(largest miss, sum of misses) of part sums (..., k)."""
    d = np.abs(sums / total - targets)
    return d.max(-1), d.sum(-1)


def _key(sums: np.ndarray, total: float, targets: np.ndarray) -> np.ndarray:
    """A scalar order of (largest miss, sum of misses) for the heuristic; ties of the first go to the second."""
    hi, l1 = _misses(sums, total, targets)
    return hi + 1e-3 * l1


def _shares(assign: np.ndarray, frames: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros(k)
    np.add.at(sums, assign, frames)
    return sums


def heuristic(frames: np.ndarray, targets: np.ndarray, enough: float = 0.0) -> np.ndarray:
    """Greedy (largest groups first, to the part furthest below its target), then moves of one group and swaps
    of two, the best of each round, while the misses shrink and the largest is above ``enough``."""
    k = len(targets)
    empty = np.zeros((len(frames), 0))
    assign = greedy(Features([], {}, frames, empty, empty, {}, []), targets, np.random.default_rng(0))
    G, total = len(frames), float(frames.sum())
    rng = np.random.default_rng(0)
    sums = _shares(assign, frames, k)
    best = float(_key(sums, total, targets))
    for _ in range(200):
        if np.abs(sums / total - targets).max() <= enough + EPS:
            break
        # every move of one group to another part
        g = np.repeat(np.arange(G), k)
        to = np.tile(np.arange(k), G)
        keep = to != assign[g]
        g, to = g[keep], to[keep]
        moved = np.repeat(sums[None], len(g), 0)
        moved[np.arange(len(g)), assign[g]] -= frames[g]
        moved[np.arange(len(g)), to] += frames[g]
        s_move = _key(moved, total, targets)
        # swaps of two groups in different parts: all pairs when few, a sample otherwise
        if G * G <= SWAP_PAIRS:
            a, b = (x.ravel() for x in np.meshgrid(np.arange(G), np.arange(G), indexing="ij"))
        else:
            a, b = rng.integers(0, G, SWAP_PAIRS), rng.integers(0, G, SWAP_PAIRS)
        keep = assign[a] != assign[b]
        a, b = a[keep], b[keep]
        swapped = np.repeat(sums[None], len(a), 0)
        idx = np.arange(len(a))
        swapped[idx, assign[a]] += frames[b] - frames[a]
        swapped[idx, assign[b]] += frames[a] - frames[b]
        s_swap = _key(swapped, total, targets) if len(a) else np.array([np.inf])
        i_m, i_s = int(np.argmin(s_move)) if len(g) else 0, int(np.argmin(s_swap))
        m_best = float(s_move[i_m]) if len(g) else np.inf
        if min(m_best, float(s_swap[i_s])) >= best - EPS:
            break
        if m_best <= s_swap[i_s]:
            assign[g[i_m]] = to[i_m]
            sums, best = moved[i_m], m_best
        else:
            assign[a[i_s]], assign[b[i_s]] = assign[b[i_s]], assign[a[i_s]]
            sums, best = swapped[i_s], float(s_swap[i_s])
    return assign


def _canonical(states: np.ndarray, classes: list[np.ndarray]) -> np.ndarray:
    """Sums of parts with equal targets sorted: assignments that differ by swapping such parts are one state."""
    for cols in classes:
        states[:, cols] = np.sort(states[:, cols], axis=1)
    return states


def _distinct(sums: np.ndarray, total: float) -> np.ndarray:
    """The first row of each distinct row of ``sums``: whole frame counts are packed a few columns to an int64
    key (far faster to sort than rows)."""
    if not len(sums) or not sums.shape[1]:
        return np.arange(min(len(sums), 1))
    if np.all(sums == np.rint(sums)):
        base = int(total) + 1
        per = max(1, int(62 // np.log2(base)))
        cols = [sums[:, j:j + per].astype(np.int64) for j in range(0, sums.shape[1], per)]
        keys = [c @ base ** np.arange(c.shape[1], dtype=np.int64) for c in cols]
    else:
        keys = list(sums.T)
    if len(keys) == 1:
        return np.unique(keys[0], return_index=True)[1]
    order = np.lexsort(keys[::-1])
    step = np.zeros(len(order) - 1, bool)
    for key in keys:
        step |= np.diff(key[order]) != 0
    return order[np.r_[True, step]]


def exact(frames: np.ndarray, targets: np.ndarray, bound: float) -> tuple[np.ndarray | None, bool]:
    """(the closest assignment among those whose largest miss is at most ``bound`` or None when there is none,
    whether the search was complete); incomplete (None, False) when it would outgrow ``EXACT_STATES``."""
    k = len(targets)
    frames = np.asarray(frames, np.float64)  # frame counts: whole numbers, exact in float64
    total = float(frames.sum())
    order = np.argsort(-frames, kind="stable")
    fr = frames[order]
    left = total - np.cumsum(fr)
    hi = (targets + bound) * total + EPS * total + EPS
    lo = (targets - bound) * total - EPS * total - EPS
    _, cls = np.unique(np.round(targets, 12), return_inverse=True)
    classes = [np.flatnonzero(cls == c) for c in np.unique(cls) if (cls == c).sum() > 1]
    states = np.zeros((1, k))
    parents: list[np.ndarray] = []
    choices: list[np.ndarray] = []
    work = 0
    for i, g in enumerate(fr):
        n = len(states)
        work += n * k
        if n * k > EXACT_STATES or work > WORK:
            return None, False
        child = np.repeat(states, k, 0)
        choice = np.tile(np.arange(k), n)
        child[np.arange(n * k), choice] += g
        parent = np.repeat(np.arange(n), k)
        ok = (child <= hi).all(1) & (child + left[i] >= lo).all(1)
        if not ok.any():
            return None, True
        child, parent, choice = _canonical(child[ok], classes), parent[ok], choice[ok]
        first = _distinct(child[:, :-1], total)  # the last sum follows from the others
        states = child[first]
        parents.append(parent[first])
        choices.append(choice[first])
    hi_miss, l1 = _misses(states, total, targets)
    at = int(np.lexsort((l1, hi_miss))[0])
    path = []
    for i in range(len(fr) - 1, -1, -1):
        path.append(int(choices[i][at]))
        at = int(parents[i][at])
    path.reverse()
    # replay: a choice is a position among the parent's canonical sums; map it to the part that holds them
    sums = np.zeros(k)
    assign = np.zeros(len(frames), np.int64)
    for i, pos in enumerate(path):
        perm = np.arange(k)
        for cols in classes:
            perm[cols] = cols[np.argsort(sums[cols], kind="stable")]
        part = int(perm[pos])
        assign[order[i]] = part
        sums[part] += fr[i]
    return assign, True


def closest(frames: np.ndarray, targets: np.ndarray, tolerance: float) -> Closest:
    """An assignment within ``tolerance`` of every target if there is one (found exactly when few groups or
    the heuristic finds it), else the closest: exact when the search space allows, else the heuristic's."""
    k = len(targets)
    total = float(frames.sum())
    assign = heuristic(frames, targets, tolerance)
    fractions = _shares(assign, frames, k) / total
    miss = float(np.abs(fractions - targets).max())
    if miss <= tolerance + EPS:
        return Closest(assign, fractions, False)
    # first the question asked (is anything within the tolerance?), pruned hard; then the closest, if not, from
    # the least any assignment can miss (the part that gets the largest group holds at least its share) up
    floor = max(tolerance, float(frames.max()) / total - float(targets.max()))
    if miss <= floor + EPS:
        return Closest(assign, fractions, True)  # no assignment can miss less than this one does
    for bound in sorted({tolerance, min(floor, miss), miss}):
        found, complete = exact(frames, targets, bound)
        if found is not None:
            return Closest(found, _shares(found, frames, k) / total, True)
        if not complete:
            break  # the search outgrew its budget (a looser bound would too): the heuristic's stands
    return Closest(assign, fractions, False)
