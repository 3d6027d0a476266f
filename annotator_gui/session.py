"""One annotator's work on one video: the labels being edited, undo/redo, and the journal that survives a crash.

No Qt here, so the editing rules can be used and tested without a screen.

Every edit is an *absolute* write of a range of frames (``{"k": "au", "au": "AU12", "s": 10, "e": 40, "p": 1,
"i": 3}``): applying it twice gives the same state, and undo is just another write of the values that were there
before. That makes the journal simple and safe to replay: ``.affcurate/desk/<annotator>/<video>.jsonl`` holds a
header line and then one line per edit in the order they were made; replaying it on the last saved tables gives
the state of the moment the desk stopped, whether or not the save before the crash finished.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.labels.merge import grid_context
from affcurate.labels.model import (
    Annotation,
    check_annotator_name,
    list_annotations,
    read_annotation,
    write_annotation,
)
from affcurate.labels.resample import to_grid
from affcurate.workspace import Workspace

JOURNAL_VERSION = 1
DESK_SOURCE = "desk"
MACHINE_SOURCES = frozenset({"openface", "pyfeat"})
"""Sources whose labels come from a model, shown read-only to be accepted or corrected."""
VA_FILL_GAP = 3
"""On save, holes of up to this many frames between two VA samples are interpolated (2x playback shows every
other frame, so its samples are two frames apart)."""
FSYNC_EVERY = 1.0


def json_values(values: np.ndarray) -> Any:
    """An edit's values as JSON: one value when they are all equal, else the list; NaN becomes null."""
    vals = [None if (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]
    return vals[0] if len(vals) and all(v == vals[0] for v in vals) else vals


def _expand(value: Any, n: int, missing: float) -> np.ndarray:
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"expected {n} values, got {len(value)}")
        return np.array([missing if v is None else v for v in value], dtype=np.float64)
    return np.full(n, missing if value is None else value, dtype=np.float64)


@dataclass
class Labels:
    """The labels of one video on the 30 fps grid, as arrays: what the desk edits."""

    n_frames: int
    aus: tuple[str, ...]
    n_classes: int
    au_p: np.ndarray = field(init=False)
    """frames x AUs: -1 not labelled, 0 absent, 1 present."""
    au_i: np.ndarray = field(init=False)
    """frames x AUs: intensity 0-5, NaN when not given."""
    expr: np.ndarray = field(init=False)
    """frames: class index, -1 not labelled."""
    va: np.ndarray = field(init=False)
    """frames x 2 (valence, arousal), NaN not rated."""

    def __post_init__(self) -> None:
        n = self.n_frames
        self.au_p = np.full((n, len(self.aus)), -1, np.int8)
        self.au_i = np.full((n, len(self.aus)), np.nan, np.float32)
        self.expr = np.full(n, -1, np.int8)
        self.va = np.full((n, 2), np.nan, np.float32)

    def au_index(self, au: str) -> int:
        try:
            return self.aus.index(au)
        except ValueError:
            raise AffcurateError(f"unknown AU {au!r}: the workspace's AUs are {', '.join(self.aus)}") from None

    # ---- edits --------------------------------------------------------------------------------------
    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        """Apply one absolute write and return the write that undoes it."""
        s, e = int(op["s"]), int(op["e"])
        if not (0 <= s <= e < self.n_frames):
            raise ValueError(f"frames {s}-{e} are outside the video (0-{self.n_frames - 1})")
        n = e - s + 1
        sl = slice(s, e + 1)
        k = op["k"]
        if k == "au":
            j = self.au_index(op["au"])
            inv = {"k": "au", "au": op["au"], "s": s, "e": e}
            if "p" in op:
                inv["p"] = json_values(self.au_p[sl, j].astype(int))
                self.au_p[sl, j] = _expand(op["p"], n, -1).astype(np.int8)
            if "i" in op:
                inv["i"] = json_values(self.au_i[sl, j].astype(float))
                self.au_i[sl, j] = _expand(op["i"], n, np.nan)
            return inv
        if k == "expr":
            inv = {"k": "expr", "s": s, "e": e, "v": json_values(self.expr[sl].astype(int))}
            v = _expand(op["v"], n, -1)
            if ((v < -1) | (v >= self.n_classes)).any():
                raise ValueError(f"expression class outside 0-{self.n_classes - 1}")
            self.expr[sl] = v.astype(np.int8)
            return inv
        if k == "va":
            inv = {"k": "va", "s": s, "e": e}
            for key, col in (("v", 0), ("a", 1)):
                if key in op:
                    inv[key] = json_values(self.va[sl, col].astype(float))
                    self.va[sl, col] = np.clip(_expand(op[key], n, np.nan), -1, 1)
            return inv
        raise ValueError(f"unknown edit kind {k!r}")

    # ---- what a user sees ---------------------------------------------------------------------------
    def touched_aus(self) -> list[int]:
        return np.flatnonzero((self.au_p >= 0).any(axis=0)).tolist()

    def progress(self) -> dict[str, float]:
        """Fraction done per task: AUs looked at, frames with an expression, frames with a VA rating."""
        n = max(self.n_frames, 1)
        return {"au": len(self.touched_aus()) / max(len(self.aus), 1),
                "expr": float((self.expr >= 0).sum()) / n,
                "va": float((~np.isnan(self.va).all(axis=1)).sum()) / n}

    # ---- to and from the annotation tables ----------------------------------------------------------
    def load(self, ann: Annotation, values: dict[str, np.ndarray]) -> None:
        """Take the values of one of the annotator's own tables, already on the grid."""
        if ann.task == "au":
            for j, au in enumerate(self.aus):
                if au in values:
                    v = values[au]
                    self.au_p[:, j] = np.where(np.isnan(v), -1, v).astype(np.int8)
                if f"{au}_intensity" in values:
                    self.au_i[:, j] = values[f"{au}_intensity"]
        elif ann.task == "expr" and "expr" in values:
            v = values["expr"]
            self.expr[:] = np.where(np.isnan(v), -1, v).astype(np.int8)
        elif ann.task == "va":
            for c, col in (("valence", 0), ("arousal", 1)):
                if c in values:
                    self.va[:, col] = values[c]

    def tables(self, video_id: str, annotator: str) -> list[Annotation]:
        """The annotation tables of what has been labelled, in the form ``affcurate import`` writes."""
        out = []
        frames = np.arange(self.n_frames, dtype=np.int64)
        touched = self.touched_aus()
        if touched:
            data = {"frame": frames}
            for j in touched:
                # an AU that was looked at is labelled on every frame: the frames not marked are absent
                data[self.aus[j]] = pd.array(np.where(self.au_p[:, j] < 0, 0, self.au_p[:, j]), dtype="Int8")
            for j in touched:
                if not np.isnan(self.au_i[:, j]).all():
                    data[f"{self.aus[j]}_intensity"] = self.au_i[:, j].astype(np.float32)
            out.append(Annotation(video_id, "au", annotator, pd.DataFrame(data), source=DESK_SOURCE,
                                  clock="grid", time_base="frame", shape="dense", complete=True))
        has = self.expr >= 0
        if has.any():
            out.append(Annotation(video_id, "expr", annotator,
                                  pd.DataFrame({"frame": frames[has],
                                                "expr": pd.array(self.expr[has], dtype="Int8")}),
                                  source=DESK_SOURCE, clock="grid", time_base="frame", shape="dense",
                                  complete=bool(has.all())))
        va = fill_short_gaps(self.va, VA_FILL_GAP)
        has = ~np.isnan(va).all(axis=1)
        if has.any():
            out.append(Annotation(video_id, "va", annotator,
                                  pd.DataFrame({"frame": frames[has], "valence": va[has, 0].astype(np.float64),
                                                "arousal": va[has, 1].astype(np.float64)}),
                                  source=DESK_SOURCE, clock="grid", time_base="frame", shape="dense"))
        return out


def fill_short_gaps(va: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly fill holes of at most ``max_gap`` frames between two rated frames, per column."""
    out = va.astype(np.float64).copy()
    frames = np.arange(len(out))
    for c in range(out.shape[1]):
        v = out[:, c]
        ok = np.flatnonzero(~np.isnan(v))
        if len(ok) < 2:
            continue
        # for each frame, the rated frames around it; a hole is short when they are close
        after = np.clip(np.searchsorted(ok, frames), 1, len(ok) - 1)
        short = np.isnan(v) & (frames > ok[0]) & (frames < ok[-1]) & (ok[after] - ok[after - 1] <= max_gap + 1)
        v[short] = np.interp(frames[short], ok, v[ok])
    return out


class Journal:
    """Append-only log of edits, one JSON line each; flushed to the OS at once, fsynced at least every second."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.header = header
        self._fh: Any = None
        self._last_sync = 0.0

    @staticmethod
    def read(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The header and the edits of a journal; a last line cut short by a crash is ignored."""
        if not path.exists():
            return None, []
        raw = path.read_bytes().split(b"\n")
        header, ops = None, []
        for i, line in enumerate(raw):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                if i >= len(raw) - 2:  # the line being written when the desk died
                    break
                raise InputError(path, "is not a desk journal: a line is not JSON", i + 1) from None
            if header is None:
                if rec.get("affcurate_journal") != JOURNAL_VERSION:
                    raise InputError(path, f"is not a desk journal (expected version {JOURNAL_VERSION})", i + 1)
                header = rec
            else:
                ops.append(rec)
        return header, ops

    def _open(self) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            self._fh = open(self.path, "a", encoding="utf-8")
            if fresh:
                self._fh.write(json.dumps(self.header) + "\n")

    def append(self, op: dict[str, Any]) -> None:
        self._open()
        self._fh.write(json.dumps(op, separators=(",", ":")) + "\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._last_sync = time.monotonic()

    def reset(self) -> None:
        """After a save: the tables hold everything, start an empty journal."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def journal_path(ws: Workspace, annotator: str, video_id: str) -> Path:
    return ws.state_dir / "desk" / annotator / f"{video_id}.jsonl"


def _lock(path: Path, what: str) -> None:
    """Claim ``path`` for this process; refuse if a live process holds it, take it over from a dead one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            alive = pid > 0 and pid != os.getpid() and _alive(pid)
            if alive:
                raise AffcurateError(f"{what} is already open in another desk (process {pid}); "
                                     f"close that one first, or delete {path} if it is gone") from None
            path.unlink(missing_ok=True)
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Overlay:
    """Someone else's labels of this video on the grid, for review."""

    annotator: str
    task: str
    source: str
    values: dict[str, np.ndarray]

    @property
    def machine(self) -> bool:
        return self.source in MACHINE_SOURCES


class Session:
    """What the desk holds for one (annotator, video): labels, undo/redo stacks and the journal."""

    def __init__(self, ws: Workspace, video_id: str, annotator: str):
        check_annotator_name(annotator)
        self.ws = ws
        self.video_id = video_id
        self.annotator = annotator
        path = journal_path(ws, annotator, video_id)
        self._lock_path = path.with_suffix(".lock")
        _lock(self._lock_path, f"{video_id} for {annotator}")  # before any reading: a refusal costs nothing
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
