"""One annotator's work on one video: the labels being edited, undo/redo, the journal, and saving.

No Qt here, so the editing rules can be used and tested without a screen. The labels and their edits are in
``labels``, the rules of what each key writes in ``edits``, the journal that survives a crash in ``journal``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.model import (
    Annotation,
    check_annotator_name,
    list_annotations,
    read_annotation,
    write_annotation,
)
from affcurate.labels.resample import grid_context, to_grid
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace
from annotator_gui.edits import machine_edit
from annotator_gui.journal import JOURNAL_VERSION, Journal, claim, journal_path
from annotator_gui.labels import DESK_SOURCE, Labels, Overlay

MERGED = "merged"
"""The name the fused labels of ``affcurate merge`` are shown under."""


class Session:
    """What the desk holds for one (annotator, video): labels, undo/redo stacks and the journal."""

    def __init__(self, ws: Workspace, video_id: str, annotator: str):
        check_annotator_name(annotator)
        self.ws = ws
        self.video_id = video_id
        self.annotator = annotator
        path = journal_path(ws, annotator, video_id)
        self._lock_path = path.with_suffix(".lock")
        claim(self._lock_path, f"{video_id} for {annotator}")  # before any reading: a refusal costs nothing
        s = ws.settings.labels
        self.grid = grid_context(ws, video_id)
        self.labels = Labels(self.grid.n, tuple(s.aus), len(s.expressions))
        self.overlays: list[Overlay] = []
        for row in list_annotations(ws).itertuples():
            if row.video_id != video_id:
                continue
            ann = read_annotation(row.path)
            values = self._on_grid(ann)
            if row.annotator == annotator:
                self.labels.load(ann, values)
            else:
                self.overlays.append(Overlay(row.annotator, ann.task, ann.source, values))
        if ws.labels_path.exists():  # the last merge's fused labels, beside the annotators' for review
            merged = LabelTable.read(ws, videos=[video_id]).on_grid(video_id, self.grid.n)
            self.overlays += [Overlay(MERGED, task, "merge", values) for task, values in merged.items()]
        self._undo: list[list[tuple[dict, dict]]] = []
        self._redo: list[list[tuple[dict, dict]]] = []
        self._group: list[tuple[dict, dict]] | None = None
        self.dirty = False
        header, ops = Journal.read(path)
        self.recovered = 0
        if header is not None:
            if header.get("video_id") != video_id or header.get("n_frames") != self.grid.n:
                raise InputError(path, f"belongs to video {header.get('video_id')} with {header.get('n_frames')} "
                                       f"frames, expected {video_id} with {self.grid.n}")
            for op in ops:
                self.labels.apply(op)
            self.recovered = len(ops)
            self.dirty = self.recovered > 0
        self.journal = Journal(path, {"affcurate_journal": JOURNAL_VERSION, "video_id": video_id,
                                      "annotator": annotator, "n_frames": self.grid.n,
                                      "started": time.strftime("%Y-%m-%dT%H:%M:%S")})

    def _on_grid(self, ann: Annotation) -> dict[str, np.ndarray]:
        cols = list(ann.data.columns.difference(ann.position_columns()))
        return to_grid(ann, self.grid, cols, self.ws.settings.labels.length_tolerance).values

    @property
    def n_frames(self) -> int:
        return self.grid.n

    # ---- editing ------------------------------------------------------------------------------------
    def begin(self) -> None:
        """Start a group of edits that undo as one (a VA pass while the video plays)."""
        self._group = []

    def end(self) -> None:
        group, self._group = self._group, None
        if group:
            self._undo.append(group)
            self._redo.clear()

    def edit(self, op: dict[str, Any]) -> None:
        inv = self.labels.apply(op)
        self.journal.append(op)
        self.dirty = True
        if self._group is not None:
            self._group.append((op, inv))
        else:
            self._undo.append([(op, inv)])
            self._redo.clear()

    def undo(self) -> bool:
        if self._group:
            self.end()
        if not self._undo:
            return False
        group = self._undo.pop()
        for _, inv in reversed(group):
            self.labels.apply(inv)
            self.journal.append(inv)
        self._redo.append(group)
        self.dirty = True
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        group = self._redo.pop()
        for op, _ in group:
            self.labels.apply(op)
            self.journal.append(op)
        self._undo.append(group)
        self.dirty = True
        return True

    def accept_machine(self, task: str, a: int, b: int, au: str | None = None) -> Overlay | None:
        """Copy the first machine annotation of ``task`` that has labels of it onto frames a-b, as own labels (one
        edit, undone as one); the machine annotation taken, or None when there is none."""
        for o in self.overlays:
            if not o.machine or o.task != task:
                continue
            op = machine_edit(o, self.labels, a, b, au)
            if op is not None:
                self.edit(op)
                return o
        return None

    # ---- saving -------------------------------------------------------------------------------------
    def save(self) -> list[Path]:
        """Write the annotation tables (atomically), then start a fresh journal."""
        if self._group:
            self.end()
        paths = []
        written = set()
        for ann in self.labels.tables(self.video_id, self.annotator):
            paths.append(write_annotation(self.ws, ann))
            written.add(ann.task)
        for task in {"au", "expr", "va"} - written:
            # everything of this task was undone or cleared: its old table would bring it back
            old = self.ws.annotation_path(self.annotator, task, self.video_id)
            if old.exists() and io.parquet_metadata(old).get("source") == DESK_SOURCE:
                old.unlink()
        self.journal.reset()
        self.dirty = False
        return paths

    def close(self) -> None:
        self.journal.close()
        self._lock_path.unlink(missing_ok=True)


def progress_of(ws: Workspace, annotator: str) -> dict[str, dict[str, float]]:
    """Per video: the annotator's progress per task, from the saved tables' Parquet footers (no data is read,
    so a workspace of hundreds of videos opens at once), and whether an unsaved journal is waiting."""
    aus = set(ws.settings.labels.aus)
    m = ws.manifest()
    ok = m[m["status"] == "ok"]
    lengths = ok["out_frames"] if "out_frames" in ok else ok["n_frames"]
    out = {vid: {"au": 0.0, "expr": 0.0, "va": 0.0} for vid in ok["video_id"]}
    n_of = {vid: (0 if pd.isna(n) else int(n)) for vid, n in zip(ok["video_id"], lengths, strict=True)}
    anns = list_annotations(ws)
    for row in anns[(anns["annotator"] == annotator) & anns["video_id"].isin(out)].itertuples():
        try:
            meta = pq.read_metadata(row.path)
        except (OSError, ValueError):  # an unreadable table shows as not started
            continue
        if row.task == "au":
            out[row.video_id]["au"] = len(aus & set(meta.schema.names)) / max(len(aus), 1)
        elif n_of[row.video_id]:
            out[row.video_id][row.task] = min(1.0, meta.num_rows / n_of[row.video_id])
    for vid in out:
        if journal_path(ws, annotator, vid).exists():
            out[vid]["unsaved"] = 1.0
    return out
