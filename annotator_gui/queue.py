"""The desk's review queues: segments to look at again, in order, and the record of which were reviewed.

``disagreements``: the windows where annotators disagree most, from the last merge's ``disagreements.parquet``.
``uncertain``: windows of :data:`WINDOW` frames where the model's pre-labels (machine annotations of source
``model`` with a per-frame ``confidence`` in [0, 1]) are least sure, lowest mean confidence first.

Each item reviewed is appended as one JSON line to ``.affcurate/desk/<annotator>/queues/<kind>.jsonl`` (who,
what, when, whether the labels on it changed), so that the queue reopens at the first item not reviewed. The
record sits in a folder of its own: the desk's journals beside it are named after videos. No Qt here.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from affcurate import io
from affcurate.errors import AffcurateError, InputError, StageMissingError
from affcurate.labels.merge import SEGMENT_COLUMNS
from affcurate.labels.model import (
    TASKS,
    check_annotator_name,
    list_annotations,
    read_annotation,
    value_columns,
)
from affcurate.labels.resample import grid_context, to_grid
from affcurate.workspace import Workspace
from annotator_gui.journal import json_lines
from annotator_gui.labels import Labels

KINDS = ("disagreements", "uncertain")
WINDOW = 30
"""Frames of one item of the uncertain queue (a second, as merge's disagreement windows)."""
MODEL_SOURCE = "model"
RECORD_VERSION = 1


@dataclass(frozen=True)
class Item:
    """One segment to review: frames ``start``-``end`` (inclusive, 30 fps grid) of a label of one video."""

    video_id: str
    task: str
    label: str
    """An AU name, ``expr``, ``valence`` or ``arousal``; ``va`` when a model's confidence is for both."""
    start: int
    end: int
    score: float
    """disagreements: how much the annotators disagree; uncertain: the model's mean confidence."""
    source: str = ""
    """uncertain: the model run (the annotator name of its pre-labels)."""

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.video_id, self.task, self.label, self.start, self.end)


def _on_video(items: list[Item], ws: Workspace) -> tuple[list[Item], int]:
    """The items of videos that are ingested now, and how many were left out."""
    videos = set(ws.video_ids())
    kept = [it for it in items if it.video_id in videos]
    return kept, len(items) - len(kept)


def disagreement_items(ws: Workspace) -> list[Item]:
    """The segments of the last merge's disagreements.parquet, most disagreed first."""
    path = ws.root / "disagreements.parquet"
    if not path.exists():
        raise StageMissingError(str(path), f"affcurate merge {ws.root}")
    try:
        df = io.read_parquet(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(path, f"cannot be read ({exc}); run affcurate merge {ws.root} again") from None
    missing = [c for c in SEGMENT_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column {missing[0]!r}, expected {', '.join(SEGMENT_COLUMNS)}")
    bad = ~df["task"].isin(TASKS)
    if bad.any():
        raise InputError(path, f"task {df['task'][bad].iloc[0]!r} is not one of {', '.join(TASKS)}",
                         int(np.flatnonzero(bad.to_numpy())[0]) + 1)
    df = df.sort_values(["score", "video_id", "start"], ascending=[False, True, True], kind="stable")
    return [Item(str(r.video_id), str(r.task), str(r.label), int(r.start), int(r.end), float(r.score))
            for r in df.itertuples()]


def _windows(conf: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, end, mean confidence) of each window of WINDOW frames with a confidence below 1."""
    out = []
    for a in range(0, len(conf), WINDOW):
        seg = conf[a:a + WINDOW]
        seg = seg[~np.isnan(seg)]
        if len(seg) and seg.mean() < 1.0:  # a window the model is sure of everywhere holds nothing to review
            out.append((a, min(a + WINDOW, len(conf)) - 1, float(seg.mean())))
    return out


def _most_mixed_au(values: dict[str, np.ndarray], aus: list[str], a: int, b: int) -> str:
    """Of the AUs the model labelled, the one whose presence on frames a-b is nearest half present."""
    best, best_d = aus[0], 2.0
    for au in aus:
        v = values[au][a:b + 1]
        v = v[~np.isnan(v)]
        d = abs(v.mean() - 0.5) if len(v) else 1.0
        if d < best_d:
            best, best_d = au, d
    return best


def uncertain_items(ws: Workspace) -> list[Item]:
    """The windows of the model's pre-labels with the lowest mean confidence first."""
    s = ws.settings.labels
    listing = list_annotations(ws)
    videos = set(ws.video_ids())
    items: list[Item] = []
    n_model = n_without = n_rated = 0
    for row in listing.itertuples():
        try:
            meta = io.parquet_metadata(row.path)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(row.path, f"cannot be read ({exc})") from None
        if meta.get("source") != MODEL_SOURCE:
            continue
        n_model += 1
        ann = read_annotation(row.path, plain=True)
        conf_cols = [c for c in ann.data.columns if c == "confidence" or c.endswith("_confidence")]
        if not conf_cols:
            n_without += 1
            continue
        if ann.video_id not in videos:
            continue
        values_of = [c for c in value_columns(ann.task, s) if c in ann.data.columns]
        grid = to_grid(ann, grid_context(ws, ann.video_id), conf_cols + values_of, s.length_tolerance).values
        for c in conf_cols:
            conf = grid[c]
            bad = ~np.isnan(conf) & ((conf < 0) | (conf > 1))
            if bad.any():
                raise InputError(row.path, f"{c} {conf[bad][0]:g} is outside [0, 1]")
            n_rated += int((~np.isnan(conf)).any())
            own = c.removesuffix("_confidence") if c != "confidence" else None  # a label's own confidence
            for a, b, mean in _windows(conf):
                if own is not None:
                    label = own
                elif ann.task == "au":
                    model_aus = [au for au in s.aus if au in grid]
                    label = _most_mixed_au(grid, model_aus, a, b) if model_aus else s.aus[0]
                else:
                    label = ann.task
                items.append(Item(ann.video_id, ann.task, label, a, b, mean, row.annotator))
    if n_model == 0:
        raise StageMissingError(f"model pre-labels in {ws.annotations_dir}", f"affcurate predict {ws.root} --run RUN")
    if n_without == n_model:
        raise AffcurateError(f"{ws.annotations_dir}: none of the {n_model} model pre-label tables has a confidence "
                             f"column; predict them again with affcurate predict {ws.root} --run RUN")
    if not items and not n_rated:
        raise AffcurateError(f"{ws.annotations_dir}: the model pre-labels give no confidence on any frame (the model "
                             "could not say how sure it is): nothing to review by confidence")
    items.sort(key=lambda it: (it.score, it.video_id, it.start, it.task, it.label))
    return items


# ---- the record -----------------------------------------------------------------------------------------
def record_path(ws: Workspace, annotator: str, kind: str) -> Path:
    return ws.state_dir / "desk" / check_annotator_name(annotator) / "queues" / f"{kind}.jsonl"


def read_record(path: Path) -> list[dict[str, Any]]:
    """The reviews of a record, oldest first; a last line cut short by a crash is ignored."""
    if not path.exists():
        return []
    out = []
    for line, rec in json_lines(path, "a review record"):
        if line == 1:
            if not isinstance(rec, dict) or rec.get("affcurate_queue") != RECORD_VERSION:
                raise InputError(path, f"is not a review record (expected version {RECORD_VERSION})", 1)
            continue
        if not (isinstance(rec, dict) and all(isinstance(rec.get(k), str) for k in ("video_id", "task", "label"))
                and all(type(rec.get(k)) is int for k in ("start", "end"))):
            raise InputError(path, "a review is not an object with video_id, task, label, start and end", line)
        out.append(rec)
    return out


def append_record(path: Path, header: dict[str, Any], rec: dict[str, Any]) -> None:
    """Append one review as a line, on disk before returning; a line cut short by a crash is dropped first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size:
            fh.seek(max(size - 65536, 0))
            tail = fh.read()
            if not tail.endswith(b"\n"):  # the torn line of a crash would glue onto this one
                fh.truncate(size - len(tail) + tail.rfind(b"\n") + 1)
        if fh.seek(0, os.SEEK_END) == 0:
            fh.write(json.dumps(header).encode() + b"\n")
        fh.write(json.dumps(rec, separators=(",", ":")).encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def range_state(labels: Labels, item: Item) -> bytes:
    """The annotator's labels of the item's label on its frames, to tell whether reviewing changed them."""
    sl = slice(item.start, item.end + 1)
    if item.task == "au" and item.label in labels.aus:
        j = labels.au_index(item.label)
        return labels.au_p[sl, j].tobytes() + labels.au_i[sl, j].tobytes()
    if item.task == "expr":
        return labels.expr[sl].tobytes()
    return labels.va[sl].tobytes()


class Queue:
    """The items of one queue for one annotator, with what that annotator has reviewed of them."""

    def __init__(self, ws: Workspace, kind: str, annotator: str, items: list[Item], left_out: int = 0):
        self.ws, self.kind, self.annotator, self.items, self.left_out = ws, kind, annotator, items, left_out
        self.path = record_path(ws, annotator, kind)
        self.reviews = read_record(self.path)
        self._reviewed = {_key_of(r) for r in self.reviews}

    def __len__(self) -> int:
        return len(self.items)

    def reviewed(self, i: int) -> bool:
        return self.items[i].key in self._reviewed

    @property
    def n_reviewed(self) -> int:
        return sum(self.reviewed(i) for i in range(len(self.items)))

    def resume(self) -> int:
        """The first item not reviewed yet (the last one when every item is)."""
        return next((i for i in range(len(self.items)) if not self.reviewed(i)), len(self.items) - 1)

    def review(self, i: int, changed: bool) -> dict[str, Any]:
        """Record item ``i`` as reviewed now by the queue's annotator."""
        it = self.items[i]
        rec = {"video_id": it.video_id, "task": it.task, "label": it.label, "start": it.start, "end": it.end,
               "score": round(it.score, 6), "source": it.source, "annotator": self.annotator,
               "reviewed": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "changed": changed}
        header = {"affcurate_queue": RECORD_VERSION, "kind": self.kind, "annotator": self.annotator}
        append_record(self.path, header, rec)
        self.reviews.append(rec)
        self._reviewed.add(it.key)
        return rec

    def progress(self, i: int) -> str:
        """What the desk shows of the queue: which item of how many, and how many are reviewed."""
        return (f"{self.kind} queue · item {i + 1} of {len(self.items)} · {self.n_reviewed} reviewed"
                + (" · this one reviewed" if self.reviewed(i) else ""))

    def describe(self, i: int) -> str:
        it = self.items[i]
        what = (f"disagreement {it.score:.2f}" if self.kind == "disagreements"
                else f"{it.source} confidence {it.score:.2f}")
        return f"{it.label}, frames {it.start}–{it.end}, {what}"  # the video is in the title and the list


def _key_of(rec: dict[str, Any]) -> tuple[str, str, str, int, int]:
    return (rec["video_id"], rec["task"], rec["label"], rec["start"], rec["end"])


def open_queue(ws: Workspace, kind: str, annotator: str, video: str | None = None,
               task: str | None = None) -> Queue:
    """The queue ``kind`` for ``annotator`` (only the items of ``video`` and ``task`` when given); refuses in one
    line when there is nothing to review."""
    if kind not in KINDS:
        raise AffcurateError(f"--queue {kind!r}: expected one of {', '.join(KINDS)}")
    check_annotator_name(annotator)
    items, left_out = _on_video(disagreement_items(ws) if kind == "disagreements" else uncertain_items(ws), ws)
    if video is not None:
        items = [it for it in items if it.video_id == video]
    if task is not None:
        items = [it for it in items if it.task == task]
    if not items:
        which = "".join(f" {w}" for w in (f"on video {video}" if video else "", f"of task {task}" if task else "") if w)
        raise AffcurateError(f"the {kind} queue of {ws.root} has no item{which}: nothing to review")
    return Queue(ws, kind, annotator, items, left_out)
