"""Merging a run of videos in batches: per batch and task, one scan of all its annotation tables, one regrid and
one fusion (:mod:`affcurate.labels.combine`), then the batch's kept frames as rows of labels.parquet
(:mod:`affcurate.labels.layout`); what comes out is in the order of a video-by-video merge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from affcurate.faces.table import FaceTracks
from affcurate.labels.combine import Fused, fuse_task
from affcurate.labels.counts import video_counts
from affcurate.labels.filters import keep_rows
from affcurate.labels.layout import Layout
from affcurate.labels.model import TASKS, task_columns
from affcurate.labels.regrid import Grids, query, regrid
from affcurate.labels.scan import POSITIONS, TableMeta, read_frame_maps, read_rows
from affcurate.workspace import Workspace

BATCH_FRAMES = 200_000
"""Grid frames merged at once: large enough that the per-batch costs vanish, small enough for memory."""

OUTCOMES = ("parts", "stats", "segments", "errors", "length_fixes", "warnings", "lags")
"""What a batch gives, each a list in the order of its videos."""


@dataclass
class Video:
    """One video to merge: its manifest facts and its tables (after the machine rule), in the listing's order."""

    video_id: str
    src_fps: float | None
    src_frames: float | None
    duration: float | None
    tables: list[TableMeta]

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for t in TASKS if any(m.task == t for m in self.tables))


@dataclass(frozen=True)
class Plan:
    """What every batch needs to know of the whole merge: the file's columns, which frames to keep, and each
    video's place among the merge's videos by name (disagreements of equal score are in that order)."""

    layout: Layout
    keep: str
    drop: bool
    rank: dict[str, int]

    @staticmethod
    def ranks(videos: list[Video]) -> dict[str, int]:
        return {vid: i for i, vid in enumerate(sorted(v.video_id for v in videos))}


def batches(videos: list[Video]) -> list[list[Video]]:
    """Consecutive videos with about :data:`BATCH_FRAMES` frames each."""
    out: list[list[Video]] = [[]]
    frames = 0
    for v in videos:
        if frames >= BATCH_FRAMES:
            out.append([])
            frames = 0
        out[-1].append(v)
        frames += int(v.src_frames or 0) + 1
    return [b for b in out if b]


def merge_batches(ws: Workspace, videos: list[Video], plan: Plan, threads: int | None = None
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Merge ``videos`` batch by batch, ``threads`` batches at once (default: one per core; the numerical work
    releases the interpreter, so threads share the cores): (videos, what the batch gave) in their order, each
    as soon as it and those before it are done."""
    runs = batches(videos)
    workers = max(1, min(threads or os.cpu_count() or 1, len(runs)))
    if workers == 1:
        for b in runs:
            yield len(b), _merge_batch(ws, b, plan)
        return
    with ThreadPoolExecutor(workers) as pool:
        for b, result in zip(runs, pool.map(lambda b: _merge_batch(ws, b, plan), runs), strict=True):
            yield len(b), result


def merge_run(ws: Workspace, videos: list[Video], plan: Plan, threads: int | None = None) -> dict[str, Any]:
    """:func:`merge_batches` of a run of videos, all of it at once (what a pool's worker sends back)."""
    merged: dict[str, Any] = {k: [] for k in OUTCOMES}
    for _, r in merge_batches(ws, videos, plan, threads):
        for k, v in r.items():
            merged[k] += v
    return merged


def _merge_batch(ws: Workspace, videos: list[Video], plan: Plan) -> dict[str, Any]:
    result: dict[str, Any] = {k: [] for k in OUTCOMES}
    s = ws.settings.labels
    fps = ws.settings.ingest.fps
    vids = [v.video_id for v in videos]
    maps = read_frame_maps(ws, vids, {query(m, fps, v.src_fps)[0] for v in videos for m in v.tables})
    n = maps.count
    g = Grids(maps, fps, [v.src_fps for v in videos],
              [int(v.src_frames) if v.src_frames is not None else int(n[i]) for i, v in enumerate(videos)],
              [float(v.duration) if v.duration is not None else int(n[i]) / ws.settings.fps
               for i, v in enumerate(videos)])
    starts = np.r_[0, np.cumsum(n)[:-1]].astype(np.int64)
    out = Fused()
    records: list[tuple[tuple[int, int, int], str, dict[str, Any]]] = []
    for ti, task in enumerate(TASKS):
        per_video = [[m for m in v.tables if m.task == task] for v in videos]
        flat = [m for ms in per_video for m in ms]
        if not flat:
            continue
        # the tables in slots: by number of annotators, then annotator, then video, so that the j-th annotators
        # of the videos with k of them are one run of rows
        place = [(i, j) for k in sorted({len(ms) for ms in per_video if ms})
                 for j in range(k) for i, ms in enumerate(per_video) if len(ms) == k]
        flat = [per_video[i][j] for i, j in place]
        tables = [[0] * len(ms) for ms in per_video]
        for t, (i, j) in enumerate(place):
            tables[i][j] = t
        discrete, continuous = task_columns(task, s.aus)
        present = set().union(*(m.columns for m in flat))
        rows = read_rows([m.path for m in flat], [*POSITIONS, *discrete, *continuous], present,
                         frozenset(discrete), [m.rows for m in flat])
        rg = regrid(flat, [i for i, _ in place], rows, g, discrete + continuous, s.length_tolerance)
        for t, (i, j) in enumerate(place):
            m, key = flat[t], (i, ti, j)
            if rg.errors[t]:
                records.append((key, "error", {"message": f"{rg.errors[t]} (video {vids[i]})"}))
            if rg.fixes[t]:
                records.append((key, "fix", {"video_id": vids[i], "task": task, "annotator": m.annotator,
                                             "samples": rg.fixes[t]}))
            if rg.warnings[t]:
                records.append((key, "warning", {"video_id": vids[i], "task": task, "annotator": m.annotator,
                                                 "outside": rg.outside[t],
                                                 "message": f"{m.origin or vids[i]}: {rg.warnings[t]}"}))
        fuse_task(task, rg, tables, [[m.annotator for m in ms] for ms in per_video], vids, starts, n, s, fps,
                  out, present)
    records.sort(key=lambda r: r[0])
    failed: set[int] = set()
    for (i, _, _), kind, rec in records:
        if kind == "error" and i not in failed:
            failed.add(i)
            result["errors"].append(rec["message"])
    for (i, _, _), kind, rec in records:
        if kind != "error" and i not in failed:
            result["length_fixes" if kind == "fix" else "warnings"].append(rec)
    if failed:  # merge writes nothing then: the rest of the batch is not needed
        return result
    result["lags"] += [rec for _, rec in sorted(out.lags, key=lambda r: r[0])]
    columns = dict(out.columns)
    columns["frame"] = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(starts, n)
    columns["has_face"] = np.concatenate([_face_mask(ws, vid, int(n[i])) for i, vid in enumerate(vids)]) \
        if len(vids) else np.zeros(0, bool)
    names: dict[str, int] = {}  # the sources' texts of the batch, each once; the column holds their numbers
    codes = []
    for i in range(len(vids)):
        said = out.said.get(i, [])
        texts, inverse = _provenance([nm for nm, _ in said], [b for _, b in said], int(n[i]))
        number = np.array([names.setdefault(t, len(names)) for t in texts], np.int32)
        codes.append(number[inverse])
    total = int(n.sum())
    video = np.repeat(np.arange(len(vids)), n)
    typed = plan.layout.typed(columns, total)
    keep, steps = keep_rows(typed, video, plan.layout.columns, s, plan.keep, plan.drop)
    counts = video_counts(typed, video, vids, keep, plan.layout.columns, s.aus, plan.drop)
    sources = (list(names), np.concatenate(codes) if codes else np.zeros(0, np.int32))
    batch = plan.layout.batch(typed, None if keep.all() else keep, vids,
                              np.bincount(video[keep], minlength=len(vids)), sources)
    result["parts"].append({"batch": batch, "steps": steps, "counts": counts})
    result["stats"] += [rec for _, rec in sorted(out.stats, key=lambda r: r[0])]
    if out.segments:
        result["segments"].append(_disagreeing(out.segments, [plan.rank[v] for v in vids], vids))
    return result


def _disagreeing(parts: list[dict[str, np.ndarray]], rank: list[int], vids: list[str]) -> dict[str, Any]:
    """The batch's windows with any disagreement, as disagreements.parquet lists them: most disagreed first,
    then by video (its ``rank`` by name), start and label. ``after``: the video's rank and the start (a frame,
    below 2**32) in one number."""
    seg = {k: np.concatenate([p[k] for p in parts]) for k in ("video", "key", "start", "end", "score")}
    some = np.flatnonzero(seg["score"] > 0)
    after = (np.asarray(rank, np.int64)[seg["video"][some]] << 32) | seg["start"][some].astype(np.int64)
    order = np.lexsort((seg["key"][some], after, -seg["score"][some]))
    return {"videos": vids, "rank": rank, "after": after[order], **{k: v[some[order]] for k, v in seg.items()}}


def _face_mask(ws: Workspace, vid: str, n: int) -> np.ndarray:
    """Frames with the subject's face; all of them when the faces stage has not run for this video."""
    return FaceTracks.read(ws, vid).mask(n) if ws.faces_path(vid).exists() else np.ones(n, bool)


def _provenance(names: list[str], said_by: list[np.ndarray], n: int) -> tuple[list[str], np.ndarray]:
    """Per frame, the ``task:annotator`` pairs that said something there, joined by ``+``: the distinct texts
    and each frame's number among them.

    The pairs are bits of as many 64-bit words as needed, so any number of sources fits."""
    if not names:
        return [""], np.zeros(n, np.int64)
    words = np.zeros((n, (len(names) + 63) // 64), np.uint64)
    for b, has in enumerate(said_by):
        words[:, b // 64] |= has.astype(np.uint64) << np.uint64(b % 64)
    if words.shape[1] == 1:
        codes, inverse = np.unique(words[:, 0], return_inverse=True)
        codes = codes[:, None]
    else:
        codes, inverse = np.unique(words, axis=0, return_inverse=True)
    bits = [(b // 64, np.uint64(1) << np.uint64(b % 64)) for b in range(len(names))]
    texts = ["+".join(nm for nm, (w, bit) in zip(names, bits, strict=True) if row[w] & bit) for row in codes]
    return texts, inverse.reshape(-1)
