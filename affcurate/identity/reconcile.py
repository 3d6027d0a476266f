"""From per-video descriptors to the identities table and the findings, with the reviewer's corrections and the
given subject ids (no workspace here: the stage reads and writes, this decides).

Names stay with the videos across runs: an identity takes the name of the last run's identity it shares most
videos with (ties: the earlier identity), and a new one the next number never used (``id0001``, ``id0002``…
in the order of each identity's first video id on a first run).

Findings compare the identities with the given subject ids (a video without one counts as its own subject,
``video:<id>``, as the split treats it):

- ``one person under several subject ids``: an identity whose videos carry two or more subject ids; its
  ``distance`` is the largest between two of its videos of different subjects;
- ``several people under one subject id``: a given subject id whose videos fall into two or more identities; its
  ``distance`` is the smallest between two of its videos of different identities.

A video is ``confirmed`` when a reviewer placed it (a ``confirm`` or ``same`` entry names it), and a finding is
``reviewed`` when every video of every identity it names is confirmed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from affcurate.identity import cluster as cl
from affcurate.identity.corrections import Corrections

SEVERAL_SUBJECTS = "one person under several subject ids"
SEVERAL_PEOPLE = "several people under one subject id"
IDENTITY_COLUMNS = ("video_id", "identity", "subject", "confidence", "within_distance", "nearest_identity",
                    "nearest_video", "nearest_distance", "confirmed")
FINDING_COLUMNS = ("kind", "identity", "subject", "identities", "subjects", "videos", "distance", "reviewed")


def name_identities(clusters: Sequence[Sequence[str]], previous: dict[str, str]) -> list[str]:
    """A name per cluster (lists of video ids, in the order of their first video): see the module."""
    pairs = sorted((-n, ci, name) for ci, members in enumerate(clusters)
                   for name, n in Counter(previous[v] for v in members if v in previous).items())
    out: list[str | None] = [None] * len(clusters)
    used: set[str] = set()
    for _, ci, name in pairs:
        if out[ci] is None and name not in used:
            out[ci] = name
            used.add(name)
    numbers = [int(n[2:]) for n in {*previous.values(), *used} if n.startswith("id") and n[2:].isdigit()]
    nxt = max(numbers, default=0) + 1
    for ci in range(len(out)):
        if out[ci] is None:
            out[ci] = f"id{nxt:04d}"
            nxt += 1
    return [str(n) for n in out]


def _items(videos: list[str], groups: list[list[str]]) -> list[list[int]]:
    """Rows of ``videos`` joined into one item per group (union of overlapping groups), by first row."""
    where = {v: n for n, v in enumerate(videos)}
    parent = list(range(len(videos)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for g in groups:
        rows = [where[v] for v in g if v in where]
        for r in rows[1:]:
            ra, rb = find(rows[0]), find(r)
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for r in range(len(videos)):
        out.setdefault(find(r), []).append(r)
    return sorted(out.values())


def identify(videos: Sequence[str], descriptors: np.ndarray, subjects: Sequence[str | None], threshold: float,
             corrections: Corrections | None = None, previous: dict[str, str] | None = None,
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(identities, findings) of ``videos`` with their (n, 128) ``descriptors`` (a NaN row: no face) and given
    ``subjects`` (None: not given); see the module and :mod:`affcurate.identity.cluster` for the method."""
    corrections = corrections or Corrections()
    order = np.argsort(np.asarray(videos, dtype=object), kind="stable")
    vids = [str(videos[i]) for i in order]
    x = np.asarray(descriptors, np.float64)[order]
    subj = [None if pd.isna(subjects[i]) else str(subjects[i]) for i in order]
    has = ~np.isnan(x).any(1)
    items = _items(vids, corrections.groups)
    described = [it for it in items if has[it].any()]
    if len(described) == len(vids):  # one video an item, every one with a face: the descriptors themselves
        item_x = x
    else:
        item_x = np.stack([x[[r for r in it if has[r]]].mean(0) for it in described]) if described else \
            np.zeros((0, 128))
    item_of = {r: n for n, it in enumerate(described) for r in it}
    where = {v: n for n, v in enumerate(vids)}
    cannot = sorted({tuple(sorted((item_of[where[a]], item_of[where[b]]))) for a, b in corrections.apart
                     if a in where and b in where and where[a] in item_of and where[b] in item_of})
    result = cl.cluster(item_x, threshold, cannot)
    members: dict[int, list[int]] = {}
    for n, it in enumerate(described):
        members.setdefault(int(result.labels[n]), []).extend(it)
    clusters = [sorted(m) for _, m in sorted(members.items())]
    clusters += [it for it in items if not has[it].any() and len(it) > 1]  # faceless videos a reviewer grouped
    clusters.sort(key=lambda m: m[0])
    names = name_identities([[vids[r] for r in m] for m in clusters], previous or {})
    label = np.full(len(vids), -1, np.int64)
    for n, m in enumerate(clusters):
        label[m] = n
    # per video: how close to its identity, and the nearest video of another
    rows = np.flatnonzero(has & (label >= 0))
    within = np.full(len(vids), np.nan)
    near_v, near_d = np.full(len(vids), -1, np.int64), np.full(len(vids), np.nan)
    if len(rows):
        within[rows] = cl.cohesion(x[rows], label[rows])
        one_to_one = len(described) == len(rows) and all(len(it) == 1 for it in described)
        sc = result.scan if one_to_one else cl.scan(x[rows], threshold)
        idx, dist = cl.nearest_other(x[rows], label[rows], sc)
        near_v[rows] = np.where(idx >= 0, rows[np.maximum(idx, 0)], -1)
        near_d[rows] = np.where(idx >= 0, dist, np.nan)
    conf = cl.confidence(within, np.where(np.isnan(near_d), np.inf, near_d), threshold)
    # a reviewer said who they are (confirm or same)
    placed = {v for g in [*corrections.groups, *corrections.confirmed] for v in g}
    table = pd.DataFrame({
        "video_id": pd.array(vids, "string"),
        "identity": pd.array([names[n] if n >= 0 else None for n in label], "string"),
        "subject": pd.array(subj, "string"),
        "confidence": np.where(has & (label >= 0), conf, np.nan),
        "within_distance": within,
        "nearest_identity": pd.array([names[label[v]] if v >= 0 else None for v in near_v], "string"),
        "nearest_video": pd.array([vids[v] if v >= 0 else None for v in near_v], "string"),
        "nearest_distance": near_d,
        "confirmed": [v in placed for v in vids],
    }, columns=list(IDENTITY_COLUMNS))
    return table, findings(table, x, has)


def _extreme(x: np.ndarray, has: np.ndarray, a: list[int], b: list[int], largest: bool) -> float:
    a, b = [r for r in a if has[r]], [r for r in b if has[r]]
    if not a or not b:
        return float("nan")
    d = cdist(x[a], x[b])
    return float(d.max() if largest else d.min())


def _pick(values: list[float], largest: bool) -> float:
    finite = [v for v in values if v == v]
    return (max(finite) if largest else min(finite)) if finite else float("nan")


def findings(table: pd.DataFrame, x: np.ndarray, has: np.ndarray) -> pd.DataFrame:
    """The two kinds of finding (see the module) from the identities table (rows in the order of ``x``)."""
    key = table["subject"].fillna("video:" + table["video_id"]).astype(str).tolist()
    ident = table["identity"].astype(object).where(table["identity"].notna(), None).tolist()
    confirmed = table["confirmed"].to_numpy(bool)
    by_identity: dict[str, list[int]] = {}
    for r, name in enumerate(ident):
        if name is not None:
            by_identity.setdefault(name, []).append(r)
    done = {name: bool(confirmed[rows].all()) for name, rows in by_identity.items()}
    out = []
    for name, rows in sorted(by_identity.items()):
        keys = sorted({key[r] for r in rows})
        if len(keys) > 1:
            worst = _pick([_extreme(x, has, [r for r in rows if key[r] == k], [r for r in rows if key[r] != k],
                                    True) for k in keys], largest=True)
            out.append((SEVERAL_SUBJECTS, name, None, [name], keys, [table["video_id"][r] for r in rows], worst,
                        done[name]))
    by_subject: dict[str, list[int]] = {}
    for r, s in enumerate(table["subject"].tolist()):
        if not pd.isna(s) and ident[r] is not None:
            by_subject.setdefault(str(s), []).append(r)
    for s, rows in sorted(by_subject.items()):
        names = sorted({ident[r] for r in rows})
        if len(names) > 1:
            closest = _pick([_extreme(x, has, [r for r in rows if ident[r] == n],
                                      [r for r in rows if ident[r] != n], False) for n in names], largest=False)
            out.append((SEVERAL_PEOPLE, None, s, names, [s], [table["video_id"][r] for r in rows], closest,
                        all(done[n] for n in names)))
    df = pd.DataFrame(out, columns=list(FINDING_COLUMNS))
    df["identity"] = df["identity"].astype("string")
    df["subject"] = df["subject"].astype("string")
    df["distance"] = df["distance"].astype(float)
    df["reviewed"] = df["reviewed"].astype(bool)
    return df.sort_values(["reviewed", "kind", "identity", "subject"], kind="stable").reset_index(drop=True)
