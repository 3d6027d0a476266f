"""Identities from descriptors: arrays in, arrays out (no workspace), so that 20,000 videos cluster in seconds
with memory flat in their number.

The method, deterministic for the same descriptors in the same order (the caller sorts by video id):

1. Each video's descriptor is the mean of its frames' descriptors that lie within the threshold of their medoid
   (a frame of another face or a badly aligned one is left out).
2. The pairs closer than the threshold are found in chunks of rows (never an n×n matrix), and the videos split
   into the connected components of that graph.
3. Inside each component, average-linkage clustering cut at the threshold: two groups are one person when their
   descriptors are on average closer than the threshold (a chain of look-alikes is not enough, as it would be
   for the components alone). Average linkage only merges groups with some pair under the threshold, so
   clustering component by component gives the same result as clustering everything at once.
   A component of more than ``CAP`` items is first cut into smaller ones with a radius lowered by 10 % at a time
   (memory stays bounded; such a component means the threshold is too loose for the collection).
4. Pairs that must differ get an infinite-like distance, so no group holding both is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist, pdist, squareform

CAP = 4000
CHUNK = 512
BLOCK = 4_000_000  # distances held at once by scan (16 MB of float32, 32 MB of their ranks)
NEIGHBOURS = 16
APART = 1e12  # larger than any average that involves it, for the component sizes CAP allows


def video_descriptor(frames: np.ndarray, threshold: float) -> np.ndarray:
    """One video's descriptor from its frames' (F, 128): the mean of those within ``threshold`` of the medoid."""
    frames = np.asarray(frames, np.float64)
    if len(frames) <= 2:
        return frames.mean(0)
    d = squareform(pdist(frames))
    medoid = int(np.argmin(d.sum(1)))
    return frames[d[medoid] <= threshold].mean(0)


@dataclass
class Scan:
    """The close pairs (i < j, distance ≤ radius, exact in float64) and each row's nearest neighbours."""

    i: np.ndarray
    j: np.ndarray
    d: np.ndarray
    knn: np.ndarray
    knn_d: np.ndarray


def scan(x: np.ndarray, radius: float, k: int = NEIGHBOURS, block: int = BLOCK) -> Scan:
    """Close pairs and k nearest neighbours of the rows of ``x`` (n, 128), a band of rows at a time (at most
    ``block`` distances in memory, whatever n is)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    k = min(k, max(n - 1, 0))
    x32 = x.astype(np.float32)
    sq = np.einsum("ij,ij->i", x32, x32)
    reach = np.float32((radius + 1e-3) ** 2)  # a margin for float32: the pairs are checked exactly below
    step = max(16, block // max(n, 1))
    sub = max(1, block // 4 // max(n, 1))
    pi, pj, knn, knn_d = [], [], np.zeros((n, k), np.int64), np.zeros((n, k))
    for s in range(0, n, step):
        e = min(n, s + step)
        # |b|² − 2ab: a row's own |a|² goes into the comparison instead (the ranks within a row do not need it)
        d2 = (-2 * x32[s:e]) @ x32.T
        d2 += sq[None, :]
        d2[np.arange(e - s), np.arange(s, e)] = np.inf  # not one's own neighbour
        rows, cols = np.nonzero(d2[:, s:] <= (reach - sq[s:e])[:, None])  # pairs i < j: columns from s on
        cols += s
        keep = cols > rows + s
        pi.append(rows[keep] + s)
        pj.append(cols[keep])
        for a in range(0, e - s if k else 0, sub):  # neighbours a few rows at a time: their ranks are int64
            b = min(e - s, a + sub)
            part = np.argpartition(d2[a:b], k - 1, axis=1)[:, :k]  # one's own row is infinite: never among them
            diff = x[s + a:s + b, None, :] - x[part]
            exact = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
            order = np.lexsort((part, exact), axis=1)  # nearest first, the lower index of equals first
            knn[s + a:s + b] = np.take_along_axis(part, order, 1)
            knn_d[s + a:s + b] = np.take_along_axis(exact, order, 1)
    i = np.concatenate(pi) if pi else np.zeros(0, np.int64)
    j = np.concatenate(pj) if pj else np.zeros(0, np.int64)
    d = np.zeros(len(i))
    for a in range(0, len(i), 8192):  # exact distances of the close pairs, a few thousand at a time
        diff = x[i[a:a + 8192]] - x[j[a:a + 8192]]
        d[a:a + 8192] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    close = d <= radius
    return Scan(i[close], j[close], d[close], knn, knn_d)


def _components(n: int, i: np.ndarray, j: np.ndarray) -> list[np.ndarray]:
    """Members (sorted) of each connected component of more than one item, by their first member."""
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    order = np.argsort(comp, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(comp[order])) + 1)
    return sorted((g for g in groups if len(g) > 1), key=lambda g: int(g[0]))


def _bounded(members: np.ndarray, i: np.ndarray, j: np.ndarray, d: np.ndarray, radius: float,
             cap: int) -> list[np.ndarray]:
    """``members`` (one component) cut into components of at most ``cap`` items by lowering the radius."""
    if len(members) <= cap:
        return [members]
    inside = np.isin(i, members) & (d <= radius * 0.9)
    local = {int(m): n for n, m in enumerate(members)}
    li = np.fromiter((local[int(a)] for a in i[inside]), np.int64, int(inside.sum()))
    lj = np.fromiter((local[int(b)] for b in j[inside]), np.int64, int(inside.sum()))
    parts = _components(len(members), li, lj)
    covered = np.zeros(len(members), bool)
    out = []
    for p in parts:
        covered[p] = True
        out += _bounded(members[p], i[inside], j[inside], d[inside], radius * 0.9, cap)
    out += [members[[q]] for q in np.flatnonzero(~covered)]
    return out


@dataclass
class Clusters:
    labels: np.ndarray
    """(n,) cluster of each item, numbered 0, 1, … in the order of each cluster's first item."""
    scan: Scan
    bounded: int = 0
    """How many components were larger than CAP and cut with a lower radius."""


def cluster(x: np.ndarray, threshold: float, cannot: list[tuple[int, int]] = (), cap: int = CAP,
            k: int = NEIGHBOURS) -> Clusters:
    """Average-linkage identities of the rows of ``x`` at ``threshold``; ``cannot`` pairs of rows never share
    one (see the module's description)."""
    n = len(x)
    sc = scan(x, threshold, k)
    labels = np.arange(n)
    apart: dict[int, set[int]] = {}
    for a, b in cannot:
        apart.setdefault(int(a), set()).add(int(b))
        apart.setdefault(int(b), set()).add(int(a))
    bounded = 0
    for comp in _components(n, sc.i, sc.j):
        parts = _bounded(comp, sc.i, sc.j, sc.d, threshold, cap)
        bounded += len(parts) > 1
        for members in parts:
            if len(members) < 2:
                continue
            members = np.sort(members)
            if len(members) == 2 and int(members[1]) not in apart.get(int(members[0]), ()):
                labels[members] = members[0]  # a close pair: one person, whatever the linkage
                continue
            dist = pdist(np.asarray(x, np.float64)[members])
            where = {int(m): q for q, m in enumerate(members)}
            m = len(members)
            for a in members if apart else ():
                for b in apart.get(int(a), ()):
                    qa, qb = where[int(a)], where.get(b)
                    if qb is not None and qa < qb:
                        dist[m * qa - qa * (qa + 1) // 2 + qb - qa - 1] = APART  # condensed index of (qa, qb)
            cut = fcluster(linkage(dist, "average"), t=threshold, criterion="distance")
            for c in np.unique(cut):
                labels[members[cut == c]] = members[cut == c].min()
    _, first = np.unique(labels, return_inverse=True)
    return Clusters(first.astype(np.int64), sc, bounded)


def cohesion(x: np.ndarray, labels: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """(n,) each row's mean distance to the other rows of its cluster (0 when it is alone)."""
    x = np.asarray(x, np.float64)
    out = np.zeros(len(x))
    order = np.argsort(labels, kind="stable")
    for members in np.split(order, np.flatnonzero(np.diff(labels[order])) + 1):
        if len(members) < 2:
            continue
        for s in range(0, len(members), chunk):
            rows = members[s:s + chunk]
            out[rows] = cdist(x[rows], x[members]).sum(1) / (len(members) - 1)
    return out


def nearest_other(x: np.ndarray, labels: np.ndarray, sc: Scan, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """(n,) the nearest row of another cluster and its distance (-1 and inf when there is no other cluster)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    idx, dist = np.full(n, -1, np.int64), np.full(n, np.inf)
    if n and sc.knn.shape[1]:
        other = labels[sc.knn] != labels[:, None]
        has = other.any(1)
        pos = other.argmax(1)
        idx[has] = sc.knn[has, pos[has]]
        dist[has] = sc.knn_d[has, pos[has]]
    else:
        has = np.zeros(n, bool)
    todo = np.flatnonzero(~has)  # every near neighbour is of its own cluster: look at all rows
    for s in range(0, len(todo), chunk):
        rows = todo[s:s + chunk]
        d = cdist(x[rows], x)
        d[labels[None, :] == labels[rows, None]] = np.inf
        best = d.argmin(1)
        found = np.isfinite(d[np.arange(len(rows)), best])
        idx[rows[found]] = best[found]
        dist[rows[found]] = d[np.arange(len(rows)), best][found]
    return idx, dist


def confidence(within: np.ndarray, nearest: np.ndarray, threshold: float) -> np.ndarray:
    """(n,) in [0, 1]: min(1 − within / threshold, (nearest − threshold) / threshold), clipped: how far a video
    is inside its identity and how far from every other, in units of the threshold."""
    separation = np.where(np.isfinite(nearest), (nearest - threshold) / threshold, 1.0)
    return np.clip(np.minimum(1 - within / threshold, separation), 0.0, 1.0)
