"""`affcurate merge`: every annotation onto the 30 fps grid, fused across annotators, with agreement, the
face mask and provenance → ``labels.parquet`` and ``agreement.parquet``.

A fused value on a frame comes only from the sources that gave one there (see :mod:`affcurate.labels.resample`).
An AU intensity left empty where its source says the AU is absent is that source's intensity 0 (the desk leaves
it empty, affcurate CSV writes 0: the same statement); a source that gives no intensity for an AU at all, or
says present without one, has no say in that frame's intensity.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, StageMissingError
from affcurate.executor import ExecutorSpec, Progress, map_items
from affcurate.faces.table import FaceTracks
from affcurate.labels.agreement import alpha, icc_2_1, mean_pairwise_ccc, nominal_agreement
from affcurate.labels.counts import video_counts
from affcurate.labels.filters import MACHINE, keep_frames, machine_rule
from affcurate.labels.fuse import fuse_continuous, fuse_discrete
from affcurate.labels.lag import best_lags, shift
from affcurate.labels.model import (
    Annotation,
    list_annotations,
    read_annotation,
    task_columns,
)
from affcurate.labels.resample import grid_of, to_grid
from affcurate.labels.table import LabelTable, nullable_int8
from affcurate.lock import writes_workspace
from affcurate.settings import LabelsSettings
from affcurate.workspace import Workspace

KEEP = ("all", "au-positive", "labelled")



@dataclass
class MergeResult:
    labels: pd.DataFrame
    agreement: pd.DataFrame
    length_fixes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    disagreements: pd.DataFrame | None = None
    lags: list[dict[str, Any]] = field(default_factory=list)
    """Per video and VA rater: the reaction lag compensated (``frames``), with ``labels.va_lag_max`` set."""
    filters: list[dict[str, Any]] = field(default_factory=list)
    """The frames after each step: on the grid, with the subject's face, kept by ``keep``, after subsampling."""
    video_counts: list[dict[str, Any]] = field(default_factory=list)
    """Per video, its frames before and along the filters (:func:`affcurate.labels.counts.video_counts`)."""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """Per video and source: ``video_id``, ``task``, ``annotator``, ``outside`` (rows past the video's end
    beyond the tolerance, left out) and ``message`` (one line to show)."""


def _face_mask(ws: Workspace, vid: str, n: int) -> np.ndarray | None:
    """Frames with the subject's face, or None when the faces stage has not run for this video."""
    return FaceTracks.read(ws, vid).mask(n) if ws.faces_path(vid).exists() else None


def _merge_video(ws: Workspace, row: pd.Series, anns: list[Annotation], s: LabelsSettings,
                 result: MergeResult) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], dict[str, np.ndarray]] | None:
    vid = row["video_id"]
    g = grid_of(ws, row)
    n = g.n
    out: dict[str, Any] = {"frame": np.arange(n, dtype=np.int64)}
    stats: list[dict[str, Any]] = []
    disagreement: dict[str, np.ndarray] = {}
    names: list[str] = []  # task:annotator, in the order they are joined in `sources`
    said_by: list[np.ndarray] = []
    for task in ("au", "expr", "va"):
        discrete, continuous = task_columns(task, s.aus)
        task_anns = [a for a in anns if a.task == task]
        if not task_anns:
            continue
        per: dict[str, list[np.ndarray]] = {c: [] for c in discrete + continuous}
        annotators = []
        for a in task_anns:
            try:
                r = to_grid(a, g, discrete + continuous, s.length_tolerance)
            except AffcurateError as exc:
                result.errors.append(f"{exc} (video {vid})")
                return None
            if r.length_fix:
                result.length_fixes.append({"video_id": vid, "task": task, "annotator": a.annotator,
                                            "samples": r.length_fix})
            if r.warning:
                result.warnings.append({"video_id": vid, "task": task, "annotator": a.annotator,
                                        "outside": r.outside, "message": f"{a.origin or vid}: {r.warning}"})
            if task == "au":
                _absent_is_intensity_zero(r.values, discrete)
            annotators.append(a.annotator)
            for c in per:
                per[c].append(r.values.get(c, np.full(n, np.nan)))
        k = len(annotators)
        if task == "va" and s.va_lag_max > 0:  # each rater's reaction lag, before fusion
            traces = [np.stack([per["valence"][j], per["arousal"][j]], 1) for j in range(k)]
            for j, lag in enumerate(best_lags(traces, int(round(s.va_lag_max * g.fps)))):
                result.lags.append({"video_id": vid, "annotator": annotators[j], "frames": lag})
                if lag:
                    per["valence"][j], per["arousal"][j] = shift(per["valence"][j], lag), shift(per["arousal"][j], lag)
        for c in discrete:
            stack = np.stack(per[c], 1)
            method = s.au_fusion if task == "au" else s.expr_fusion
            fused, share = fuse_discrete(stack, method)
            out[c] = fused
            out[f"{c}_agree" if task == "au" else "expr_agree"] = share
            if k > 1 and not np.isnan(stack).all():
                a_nominal, kappa = nominal_agreement(stack)
                stats += [{"video_id": vid, "task": task, "label": c, "statistic": "krippendorff_alpha",
                           "value": a_nominal, "n_annotators": k},
                          {"video_id": vid, "task": task, "label": c, "statistic": "fleiss_kappa",
                           "value": kappa, "n_annotators": k}]
                disagreement[f"{task}:{c}"] = 1 - np.nan_to_num(share, nan=1.0)
        for c in continuous:
            stack = np.stack(per[c], 1)
            out[c] = fuse_continuous(stack, s.va_fusion)
            if task == "va":
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out[f"{c}_std"] = np.where((~np.isnan(stack)).sum(1) > 0, np.nanstd(
                        np.where(np.isnan(stack), np.nanmean(stack, 1, keepdims=True), stack), 1), np.nan)
                if k > 1:
                    stats += [{"video_id": vid, "task": task, "label": c, "statistic": name, "value": fn(stack),
                               "n_annotators": k}
                              for name, fn in (("krippendorff_alpha", lambda v: alpha(v, "interval")),
                                               ("icc", icc_2_1), ("ccc", mean_pairwise_ccc))]
                    disagreement[f"{task}:{c}"] = np.nan_to_num(out[f"{c}_std"], nan=0.0)
        # which annotators said anything about this task at each frame
        said = np.stack([np.any([~np.isnan(per[c][j]) for c in per], axis=0) for j in range(k)], 1)
        out[f"{task}_n"] = said.sum(1)
        names += [f"{task}:{name}" for name in annotators]
        said_by += [said[:, j] for j in range(k)]
    mask = _face_mask(ws, vid, n)
    out["has_face"] = np.ones(n, bool) if mask is None else mask
    out["sources"] = _provenance(names, said_by, n)
    for name, col in out.items():  # half the memory while the videos wait to be joined; the table keeps float32
        if col.dtype == np.float64:
            out[name] = col.astype(np.float32)
    return out, stats, disagreement


def _absent_is_intensity_zero(values: dict[str, np.ndarray], aus: list[str]) -> None:
    """A source that gives an AU's intensity says 0 where it says the AU is absent and leaves the intensity
    empty (the desk's encoding); where it says present without an intensity, it says nothing about it."""
    for au in aus:
        ic = f"{au}_intensity"
        if ic in values and au in values:
            iv = values[ic]
            values[ic] = np.where(np.isnan(iv) & (values[au] == 0), 0.0, iv)


def _provenance(names: list[str], said_by: list[np.ndarray], n: int) -> np.ndarray:
    """Per frame, the ``task:annotator`` pairs that said something there, joined by ``+``.

    The pairs are bits of as many 64-bit words as needed, so any number of sources fits."""
    if not names:
        return np.full(n, "", dtype=object)
    words = np.zeros((n, (len(names) + 63) // 64), np.uint64)
    for b, has in enumerate(said_by):
        words[:, b // 64] |= has.astype(np.uint64) << np.uint64(b % 64)
    if words.shape[1] == 1:
        codes, inverse = np.unique(words[:, 0], return_inverse=True)
        codes = codes[:, None]
    else:
        codes, inverse = np.unique(words, axis=0, return_inverse=True)
    bits = [(b // 64, np.uint64(1) << np.uint64(b % 64)) for b in range(len(names))]
    labels_of = np.array(["+".join(nm for nm, (w, bit) in zip(names, bits, strict=True) if row[w] & bit)
                          for row in codes], dtype=object)
    return labels_of[inverse.reshape(-1)]


def _columns_to_frame(parts: list[tuple[str, dict[str, np.ndarray]]], s: LabelsSettings) -> pd.DataFrame:
    """One table from the videos' columns: concatenated column by column, missing ones filled, typed."""
    names: dict[str, None] = {}
    for _, cols in parts:
        names.update(dict.fromkeys(cols))
    lengths = np.array([len(cols["frame"]) for _, cols in parts])
    data: dict[str, Any] = {"video_id": np.repeat(np.array([v for v, _ in parts], dtype=object), lengths)}
    for name in names:
        chunks = []
        for (_, cols), n in zip(parts, lengths, strict=True):
            if name in cols:
                chunks.append(cols.pop(name))  # freed as the table is built
            elif name.endswith("_n"):
                chunks.append(np.zeros(n, np.int16))  # no annotator of that task on this video
            elif name == "sources":
                chunks.append(np.full(n, "", dtype=object))
            else:
                chunks.append(np.full(n, np.nan))
        col = np.concatenate(chunks)
        if name in s.aus or name == "expr":
            col = nullable_int8(col.astype(np.float64))
        elif name.endswith("_intensity") or name in ("valence", "arousal"):
            col = col.astype(np.float32)
        elif name.endswith("_n"):
            col = col.astype(np.int16)  # any number of annotators
        data[name] = col
    return pd.DataFrame(data)


def auto_spec(n_videos: int) -> ExecutorSpec:
    """A process pool pays off once each worker has a few dozen videos to merge."""
    return ExecutorSpec("local", max(1, min(os.cpu_count() or 1, n_videos // 40)))


def _merge_item(item: dict[str, Any]) -> dict[str, Any]:
    """Merge one video (in this process or a worker): its columns, statistics and what went wrong."""
    ws = Workspace(Path(item["ws_root"]))
    sink = MergeResult(pd.DataFrame(), pd.DataFrame())
    anns = machine_rule([read_annotation(p, plain=True) for p in item["paths"]], item["machine"])
    merged = _merge_video(ws, pd.Series(item["row"]), anns, ws.settings.labels, sink) if anns else None
    return {"merged": merged, "errors": sink.errors, "length_fixes": sink.length_fixes, "warnings": sink.warnings,
            "lags": sink.lags}


@writes_workspace("affcurate merge")
def merge(ws: Workspace, keep: str = "all", drop_no_face: bool | None = None, disagreements: int = 0,
          progress: Progress | Any | None = None, spec: ExecutorSpec | str = ExecutorSpec(),
          machine: str = "exclude") -> MergeResult:
    """Merge every annotation of the workspace into ``labels.parquet`` (and ``agreement.parquet``).

    ``keep``: ``all`` frames, only ``labelled`` ones, or only ``au-positive`` ones (seed 001).
    Frames without the subject's face are left out unless ``drop_no_face`` is False (default: the setting).
    ``disagreements``: also list the N segments where annotators disagree most.
    ``progress``: a callback ``progress(what, done, total)`` told of each merged video (default: the one of
    :func:`affcurate.executor.reporting`, else nothing is shown); an object with rich's ``add_task``/``advance``
    still works.
    ``machine``: machine sources (OpenFace, py-feat, ``affcurate predict``) are left out (``exclude``, the
    default: never fused with people unless asked), used only for the tasks of a video no person labelled
    (``fallback``), or fused with the people's (``fuse``).
    ``spec``: where the per-video work runs: this process by default, ``"auto"`` for a local pool sized to the
    machine and the workspace (a script that asks for a pool needs the ``if __name__ == "__main__":`` guard)."""
    if keep not in KEEP:
        raise AffcurateError(f"unknown keep {keep!r}: expected one of {', '.join(KEEP)}")
    if machine not in MACHINE:
        raise AffcurateError(f"unknown machine rule {machine!r}: expected one of {', '.join(MACHINE)}")
    s = ws.settings.labels
    drop = s.drop_no_face if drop_no_face is None else drop_no_face
    manifest = ws.manifest()
    ok = manifest[manifest["status"] == "ok"].set_index("video_id", drop=False)
    listing = list_annotations(ws)
    if listing.empty:
        raise StageMissingError("annotations", f"affcurate import {ws.root} --format F FILES (or affcurate annotate)")
    result = MergeResult(pd.DataFrame(), pd.DataFrame())
    result.unmatched = sorted(set(listing["video_id"]) - set(ok.index))
    parts, stats, dis_rows = [], [], []
    groups = listing[listing["video_id"].isin(ok.index)].groupby("video_id", sort=False)
    items = [{"ws_root": str(ws.root), "row": ok.loc[vid].to_dict(), "paths": list(rows["path"]),
              "machine": machine} for vid, rows in groups]
    if spec == "auto":
        spec = auto_spec(len(items))
    done: dict[str, dict[str, Any]] = {}
    for res in map_items(_merge_item, items, spec, "merge", progress):
        if res.error:
            raise AffcurateError(res.error)
        done[res.item["row"]["video_id"]] = res.value
    for item in items:  # the order of the listing, whichever video finished first
        vid = item["row"]["video_id"]
        value = done[vid]
        result.errors += value["errors"]
        result.length_fixes += value["length_fixes"]
        result.warnings += value["warnings"]
        result.lags += value["lags"]
        if value["merged"] is None:
            continue
        cols, st, dis = value["merged"]
        parts.append((vid, cols))
        stats += st
        if dis:  # every segment is kept (disagreements.parquet: the desk's review queue); N are listed
            for key, score in dis.items():
                dis_rows.append(_segments(vid, key, score))
    if result.errors:  # nothing is written: the labels of the last good merge stay as they were
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        kept = f"{ws.labels_path.name} is left as it was" if ws.labels_path.exists() else "nothing was written"
        raise AffcurateError(f"{result.errors[0]}{more}; {kept}")
    labels = _columns_to_frame(parts, s) if parts else pd.DataFrame(columns=["video_id", "frame"])
    if len(labels):
        grid = labels
        labels = keep_frames(labels, s, keep, drop, result.filters)
        result.video_counts = video_counts(grid, labels, list(s.aus), drop)
    result.labels = labels
    result.agreement = pd.DataFrame(stats, columns=["video_id", "task", "label", "statistic", "value",
                                                    "n_annotators"])
    segments = (pd.concat(dis_rows, ignore_index=True) if dis_rows else pd.DataFrame(columns=SEGMENT_COLUMNS))
    segments = segments[segments["score"] > 0].sort_values(["score", "video_id", "start"],
                                                           ascending=[False, True, True]).reset_index(drop=True)
    if disagreements and len(segments):
        result.disagreements = segments.head(disagreements).reset_index(drop=True)
    meta = {"settings": s.__dict__, "keep": keep, "drop_no_face": drop, "machine": machine,
            "length_fixes": result.length_fixes, "errors": result.errors, "warnings": result.warnings,
            "lags": result.lags, "filters": result.filters, "video_counts": result.video_counts}
    LabelTable(result.labels, tuple(s.aus), len(s.expressions), meta).write(ws)
    io.write_parquet(result.agreement, ws.root / "agreement.parquet")
    io.write_parquet(segments.astype({"start": np.int64, "end": np.int64, "score": np.float64}),
                     ws.root / "disagreements.parquet")
    return result


SEGMENT_COLUMNS = ["video_id", "task", "label", "start", "end", "score"]
"""disagreements.parquet: windows of a second where annotators disagree (score: 1 − the agreeing share for AUs
and expressions, the raters' standard deviation for VA), most disagreed first."""


def _segments(vid: str, key: str, score: np.ndarray, window: int = 30) -> pd.DataFrame:
    """Non-overlapping windows of ``window`` frames with their mean disagreement."""
    n = len(score)
    starts = np.arange(0, n, window)
    means = np.add.reduceat(score, starts) / np.diff(np.r_[starts, n])
    task, label = key.split(":", 1)
    return pd.DataFrame({"video_id": vid, "task": task, "label": label, "start": starts,
                         "end": np.minimum(starts + window, n) - 1, "score": means})
