"""One task of many videos fused at once: the videos with the same number of annotators are stacked into one
frames × annotators array per column, fused row by row (:mod:`affcurate.labels.fuse`), and their agreement is
computed per video from sums over each video's rows, so no step loops over frames (and the statistics that need
a video's whole trace, the VA ones and the weights of the weighted fusion, loop over videos only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from affcurate.labels.agreement import (
    category_counts,
    continuous_agreement_by,
    nominal_agreement_by,
    segment_sum,
)
from affcurate.labels.classes import agreement_of_profiles, fuse_profiles, profiles
from affcurate.labels.fuse import (
    fuse_continuous,
    fuse_discrete,
    fusion_weights,
    weighted_rows,
)
from affcurate.labels.lag import best_lags, shift
from affcurate.labels.model import task_columns
from affcurate.labels.regrid import Regridded
from affcurate.settings import LabelsSettings

WINDOW = 30
"""Frames of one disagreement segment."""


@dataclass
class Fused:
    """What the videos of a batch gave: columns over the batch's frames, and rows of the tables beside them,
    each with its place (video, column, statistic) so that they can be put in the order of a video-by-video
    merge."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)
    stats: list[tuple[tuple[int, int, int], dict[str, Any]]] = field(default_factory=list)
    segments: list[dict[str, np.ndarray]] = field(default_factory=list)
    lags: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    said: dict[int, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    """Per video: (``task:annotator``, frames it said something at), in the order of the sources column."""


def label_order(aus: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(task, column) of every agreement statistic and disagreement score, in a video's order."""
    return [("au", a) for a in aus] + [("expr", "expr"), ("va", "valence"), ("va", "arousal")]


def fuse_task(task: str, rg: Regridded, tables: list[list[int]], annotators: list[list[str]], vids: list[str],
              starts: np.ndarray, sizes: np.ndarray, s: LabelsSettings, fps: float, out: Fused,
              present: set[str]) -> None:
    """Fuse ``task`` for the videos of a batch: video ``v`` has the tables ``tables[v]`` of ``rg`` (none: the
    task is not labelled there) and its frames at ``starts[v]`` of the batch's columns; ``present``: the columns
    some table has."""
    discrete, continuous = task_columns(task, s.aus)
    order = {key: i for i, key in enumerate(label_order(s.aus))}
    total = int(sizes.sum())
    for c in discrete + continuous:
        out.columns[c] = np.full(total, np.nan, np.float32)
    for c in discrete:
        out.columns[f"{c}_agree" if task == "au" else "expr_agree"] = np.full(total, np.nan, np.float32)
    if task == "va":
        for c in continuous:
            out.columns[f"{c}_std"] = np.full(total, np.nan, np.float32)
    out.columns[f"{task}_n"] = np.zeros(total, np.int16)
    if task == "va" and s.va_lag_max > 0:  # each rater's reaction lag, before fusion
        for v, ts in enumerate(tables):
            offs = [int(rg.offset[t]) for t in ts]
            n = int(sizes[v])
            traces = [np.stack([rg.values["valence"][o:o + n], rg.values["arousal"][o:o + n]], 1) for o in offs]
            for j, lag in enumerate(best_lags(traces, int(round(s.va_lag_max * fps)))):
                out.lags.append((v, {"video_id": vids[v], "annotator": annotators[v][j], "frames": lag}))
                if lag:
                    for c in ("valence", "arousal"):
                        rg.values[c][offs[j]:offs[j] + n] = shift(rg.values[c][offs[j]:offs[j] + n], lag)
    said_rows = np.zeros(rg.total, bool)
    for c in rg.values:
        said_rows |= ~np.isnan(rg.values[c])  # after the lag, as the fused values
    for v, ts in enumerate(tables):
        if ts:
            n, o = int(sizes[v]), [int(rg.offset[t]) for t in ts]
            out.said.setdefault(v, []).extend((f"{task}:{a}", said_rows[p:p + n])
                                              for a, p in zip(annotators[v], o, strict=True))
    for k in sorted({len(ts) for ts in tables if ts}):
        group = [v for v, ts in enumerate(tables) if len(ts) == k]
        lengths = sizes[group].astype(np.int64)
        first = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        total = int(lengths.sum())
        local = np.arange(total) - np.repeat(first, lengths)
        rows = Slots([_run(np.array([int(rg.offset[tables[v][j]]) for v in group]), first, local)
                      for j in range(k)])
        dest = _run(starts[group], first, local)
        said = np.zeros(total, np.int16)
        for j in range(k):  # annotator by annotator: k is small, the frames many
            said += said_rows[rows.of(j)]
        out.columns[f"{task}_n"][dest] = said
        given = [c for c in discrete if c in present]  # a label no table has stays empty, without agreement
        if given:
            where = (task, group, first, lengths, vids, order)
            values = [rg.values[c] for c in given]
            # classes are cut to whole numbers as category_counts cuts them: only their range matters, and the
            # number of profiles ((k + 1) ** classes) must fit in 62 bits
            low = min((np.fmin.reduce(v) for v in values if len(v)), default=0.0)
            high = max((np.fmax.reduce(v) for v in values if len(v)), default=0.0)
            if low < 0 or high > 100 or (np.isfinite(high) and (k + 1) ** (int(high) + 1) >= 2**62):
                for c in given:
                    _fuse_generic(out, c, rows.stack(rg.values[c]), dest, s, where)
            else:
                _fuse_classes(out, given, values, rows, dest, s, where)
        for c in continuous:
            if task != "va" and c not in present:  # an AU intensity no table gives: empty (VA is always given)
                continue
            stack = rows.stack(rg.values[c])
            mean, std = _mean_and_spread(stack.T) if task == "va" or s.va_fusion == "mean" else (None, None)
            if s.va_fusion == "weighted" and k > 1:
                w = np.stack([fusion_weights(stack[f:f + n]) for f, n in zip(first, lengths, strict=True)])
                fused = weighted_rows(stack, np.repeat(w, lengths, axis=0))
            else:
                fused = mean if s.va_fusion == "mean" else fuse_continuous(stack, s.va_fusion)
            out.columns[c][dest] = fused
            if task != "va":
                continue
            out.columns[f"{c}_std"][dest] = std
            if k > 1:
                per_video = continuous_agreement_by(stack, first, lengths)
                for g, v in enumerate(group):
                    for i, name in enumerate(("krippendorff_alpha", "icc", "ccc")):
                        out.stats.append(((v, order[(task, c)], i), _stat(vids[v], task, c, name, per_video[i][g], k)))
                _segments(out, group, first, lengths, np.nan_to_num(std, nan=0.0), order[(task, c)])


def _mean_and_spread(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Annotators × frames → per frame, the mean of the values given and their standard deviation with each
    missing value counted at that mean; NaN where no value is given."""
    given = ~np.isnan(rows)
    m = given.sum(0)
    filled = np.where(given, rows, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(0) / m
        spread = (np.where(given, filled - mean, 0.0) ** 2).sum(0)
        std = np.where(m > 0, np.sqrt(spread / len(rows)), np.nan)
    return mean, std


def _run(offsets: np.ndarray, first: np.ndarray, local: np.ndarray) -> slice | np.ndarray:
    """The rows ``offsets[i] + local`` of the videos (video ``i``'s from ``first[i]``): one slice when the
    videos follow each other."""
    if len(offsets) == 0 or np.array_equal(offsets - offsets[0], first):
        start = int(offsets[0]) if len(offsets) else 0
        return slice(start, start + len(local))
    return np.repeat(offsets, np.diff(np.r_[first, len(local)])) + local


@dataclass
class Slots:
    """Where annotator ``j`` of a group of videos is, in the rows of the regridded tables."""

    runs: list[slice | np.ndarray]

    def of(self, j: int) -> slice | np.ndarray:
        return self.runs[j]

    def stack(self, values: np.ndarray) -> np.ndarray:
        """frames × annotators, each annotator's frames in one run of memory (sums over the annotators are then
        sums of whole rows)."""
        return np.stack([values[r] for r in self.runs], 0).T


def _fuse_classes(out: Fused, given: list[str], values: list[np.ndarray], rows: Slots, dest: slice | np.ndarray,
                  s: LabelsSettings, where: tuple) -> None:
    """Class labels (AU presence, expression), all labels of a task at once: per class, how many annotators
    gave it at each frame, from which the fused label, its share and the per-video agreement follow."""
    task, group, first, lengths, vids, order = where
    k = len(rows.runs)
    codes = np.empty((len(values), len(values[0])), np.int8)  # labels × rows: each label's rows in one run
    with np.errstate(invalid="ignore"):
        for i, v in enumerate(values):
            np.copyto(codes[i], v, casting="unsafe")  # cut to whole classes, as category_counts cuts them
            codes[i][np.isnan(v)] = -1
    prof = profiles([codes[:, rows.of(j)] for j in range(k)])
    fused, share = fuse_profiles(prof, s.au_fusion if task == "au" else s.expr_fusion)
    agree = share.astype(np.float32)  # as the column stores it
    for i, c in enumerate(given):  # each frame's from its profile's
        _per_frame(fused, prof.number[i], out.columns[c], dest)
        _per_frame(agree, prof.number[i], out.columns[f"{c}_agree" if task == "au" else "expr_agree"], dest)
    if k < 2:
        return
    disagree = 1 - np.nan_to_num(share, nan=1.0)
    a_nom, kappa, some = agreement_of_profiles(prof, k, lengths)
    for i, c in enumerate(given):
        for g in np.flatnonzero(some[:, i]):
            v = group[g]
            for j, (name, value) in enumerate((("krippendorff_alpha", a_nom[g, i]), ("fleiss_kappa", kappa[g, i]))):
                out.stats.append(((v, order[(task, c)], j), _stat(vids[v], task, c, name, value, k)))
        sel = some[:, i]
        _segments(out, [group[g] for g in np.flatnonzero(sel)], first[sel], lengths[sel],
                  np.take(disagree, prof.number[i]), order[(task, c)])


def _per_frame(table: np.ndarray, number: np.ndarray, column: np.ndarray, dest: slice | np.ndarray) -> None:
    """``column[dest]`` = each frame's value of its profile, gathered in place where ``dest`` is one run."""
    if isinstance(dest, slice):
        np.take(table, number, out=column[dest])
    else:
        column[dest] = np.take(table, number)


def _fuse_generic(out: Fused, c: str, stack: np.ndarray, dest: slice | np.ndarray, s: LabelsSettings,
                  where: tuple) -> None:
    """One label whose classes are not small whole numbers: counted by :func:`category_counts`."""
    task, group, first, lengths, vids, order = where
    k = stack.shape[1]
    counted = category_counts(np.where(np.isnan(stack), -1, stack).astype(np.int64))
    fused, share = fuse_discrete(stack, s.au_fusion if task == "au" else s.expr_fusion, counted)
    out.columns[c][dest] = fused
    out.columns[f"{c}_agree" if task == "au" else "expr_agree"][dest] = share
    if k > 1:
        some = segment_sum(~np.isnan(stack).all(1), first, lengths) > 0
        a_nom, kappa = nominal_agreement_by(stack, first, lengths, counted)
        for g in np.flatnonzero(some):
            v = group[g]
            for i, (name, value) in enumerate((("krippendorff_alpha", a_nom[g]), ("fleiss_kappa", kappa[g]))):
                out.stats.append(((v, order[(task, c)], i), _stat(vids[v], task, c, name, value, k)))
        _segments(out, [group[g] for g in np.flatnonzero(some)], first[some], lengths[some],
                  1 - np.nan_to_num(share, nan=1.0), order[(task, c)])


def _stat(vid: str, task: str, label: str, name: str, value: float, k: int) -> dict[str, Any]:
    return {"video_id": vid, "task": task, "label": label, "statistic": name, "value": float(value),
            "n_annotators": k}


def _segments(out: Fused, videos: list[int], first: np.ndarray, lengths: np.ndarray, score: np.ndarray,
              key: int) -> None:
    """Windows of :data:`WINDOW` frames with their mean disagreement, for each of ``videos`` (its scores are
    ``lengths[i]`` values of ``score`` from ``first[i]``) and the label numbered ``key`` in
    :func:`label_order`."""
    if not videos:
        return
    per = (lengths + WINDOW - 1) // WINDOW
    video = np.repeat(np.arange(len(videos)), per)
    start = np.arange(int(per.sum())) - np.repeat(np.r_[0, np.cumsum(per)[:-1]], per)
    start = start * WINDOW
    at = first[video] + start
    size = np.minimum(start + WINDOW, lengths[video]) - start
    bounds = np.ravel(np.stack([at, at + size], 1))  # each window alone, whatever lies between the videos
    means = np.add.reduceat(np.r_[score, 0.0], bounds)[::2] / size if len(at) else np.zeros(0)
    out.segments.append({"video": np.asarray(videos)[video], "key": np.full(len(start), key), "start": start,
                         "end": np.minimum(start + WINDOW, lengths[video]) - 1, "score": means})
