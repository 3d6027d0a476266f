"""``FaceTracks``: the one type for a video's faces, from the tracker to every consumer.

A video's faces are rows (one per face per frame) with a track id, a box, a score, landmarks, whether the face is
the subject's (``is_target``) and whether it was detected or carried. ``faces/<id>.parquet`` is read and written
here and nowhere else; the subject's rows, its box on a frame and its presence mask are methods, so no consumer
re-derives them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.faces.types import Detections, check_array

if TYPE_CHECKING:
    from affcurate.workspace import Workspace

COLUMNS = ("frame", "track_id", "x1", "y1", "x2", "y2", "score", "landmarks", "is_target", "detected")


@dataclass(frozen=True)
class FaceTracks:
    """Faces of one video: ``frame (N,)``, ``track_id (N,)``, ``boxes (N, 4)`` x1 y1 x2 y2 in pixels of the
    30 fps video, ``scores (N,)``, ``landmarks (N, K, 2)``, ``is_target (N,)``, ``detected (N,)``; ``meta`` holds
    what the faces stage recorded (detector, n_frames, target_track, target_method, settings, width, height)."""

    video_id: str
    frame: np.ndarray
    track_id: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    is_target: np.ndarray
    detected: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ok = isinstance(self.frame, np.ndarray) and self.frame.ndim == 1
        n = self.frame.shape[0] if ok else None  # a bad frame array is refused first
        for name, shape, kind in (("frame", (n,), "iu"), ("track_id", (n,), "iu"), ("boxes", (n, 4), "f"),
                                  ("scores", (n,), "f"), ("landmarks", (n, None, 2), "f"),
                                  ("is_target", (n,), "b"), ("detected", (n,), "b")):
            check_array("FaceTracks", name, getattr(self, name), shape, kind)

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def empty(cls, video_id: str, k: int = 5, meta: dict[str, Any] | None = None) -> FaceTracks:
        return cls(video_id, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.float32),
                   np.zeros(0, np.float32), np.zeros((0, k, 2), np.float32), np.zeros(0, bool),
                   np.zeros(0, bool), dict(meta or {}))

    @classmethod
    def from_detections(cls, video_id: str, frames: Iterable[tuple[int, Detections, np.ndarray]], k: int = 5,
                        meta: dict[str, Any] | None = None) -> FaceTracks:
        """Rows in the order given from ``(frame, tracked detections, detected)`` per frame, where ``detected``
        (N,) says which faces the detector found (the others were carried); nobody is the subject yet."""
        parts = [(np.full(len(d), f, np.int64), d, np.asarray(det, bool)) for f, d, det in frames if len(d)]
        if not parts:
            return cls.empty(video_id, k, meta)
        if any(d.track_ids is None for _, d, _ in parts):
            raise ValueError("FaceTracks.from_detections: every frame's detections need their track ids")
        n = sum(len(d) for _, d, _ in parts)
        return cls(video_id, np.concatenate([f for f, _, _ in parts]),
                   np.concatenate([d.track_ids for _, d, _ in parts]).astype(np.int64),
                   np.concatenate([d.boxes for _, d, _ in parts]).astype(np.float32, copy=False),
                   np.concatenate([d.scores for _, d, _ in parts]).astype(np.float32, copy=False),
                   np.concatenate([d.landmarks for _, d, _ in parts]).astype(np.float32, copy=False),
                   np.zeros(n, bool), np.concatenate([det for _, _, det in parts]), dict(meta or {}))

    @classmethod
    def from_frame(cls, video_id: str, df: pd.DataFrame, meta: dict[str, Any] | None = None) -> FaceTracks:
        """From a DataFrame with the table's columns (``is_target`` defaults to False, ``detected`` to True)."""
        n = len(df)
        lms = df["landmarks"].tolist() if "landmarks" in df else []
        landmarks = (np.asarray([np.asarray(list(p), np.float32).reshape(-1, 2) for p in lms], np.float32)
                     if n else np.zeros((0, 5, 2), np.float32))
        return cls(video_id, df["frame"].to_numpy(np.int64), df["track_id"].to_numpy(np.int64),
                   df[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), df["score"].to_numpy(np.float32),
                   landmarks.reshape(n, -1, 2) if n else landmarks,
                   df["is_target"].to_numpy(bool) if "is_target" in df else np.zeros(n, bool),
                   df["detected"].to_numpy(bool) if "detected" in df else np.ones(n, bool), dict(meta or {}))

    # ---- storage: faces/<id>.parquet ------------------------------------------------------------------------
    @classmethod
    def read(cls, ws: Workspace, video_id: str) -> FaceTracks:
        """The faces of ``video_id``; one clear message when the faces stage has not run for it."""
        path = ws.faces_path(video_id)
        if not path.exists():
            raise AffcurateError(f"faces of {video_id} are missing: run `affcurate faces {ws.root}` "
                                 f"(or `affcurate ingest {ws.root}`)")
        return cls.read_path(path, video_id)

    @classmethod
    def read_or_empty(cls, ws: Workspace, video_id: str) -> FaceTracks:
        """The faces of ``video_id``, or none when the faces stage has not written any."""
        path = ws.faces_path(video_id)
        return cls.read_path(path, video_id) if path.exists() else cls.empty(video_id)

    @classmethod
    def read_path(cls, path: str | Path, video_id: str | None = None) -> FaceTracks:
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(path, f"not a readable faces table ({exc})") from None
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise InputError(path, f"faces table without column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        raw = (table.schema.metadata or {}).get(b"affcurate")
        meta = json.loads(raw) if raw else {}
        n = table.num_rows
        if n:
            flat = table.column("landmarks").combine_chunks().flatten().flatten().to_numpy(zero_copy_only=False)
            landmarks = flat.astype(np.float32).reshape(n, -1, 2)
        else:  # an empty table's list column may be stored with a null type
            landmarks = np.zeros((0, 5, 2), np.float32)

        def col(name: str, dtype: Any) -> np.ndarray:
            return table.column(name).to_numpy().astype(dtype, copy=False)

        boxes = np.stack([col(c, np.float32) for c in ("x1", "y1", "x2", "y2")], 1) if n else np.zeros((0, 4), np.float32)
        return cls(video_id or str(meta.get("video_id") or Path(path).stem), col("frame", np.int64),
                   col("track_id", np.int64), boxes, col("score", np.float32), landmarks,
                   col("is_target", bool), col("detected", bool), meta)

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame with the schema's columns (landmarks as lists of [x, y])."""
        return pd.DataFrame({
            "frame": self.frame, "track_id": self.track_id,
            "x1": self.boxes[:, 0], "y1": self.boxes[:, 1], "x2": self.boxes[:, 2], "y2": self.boxes[:, 3],
            "score": self.scores,
            # object, also when empty: the stage has always stored an empty table's landmarks with a null type
            "landmarks": pd.Series([np.round(p, 2).tolist() for p in self.landmarks], dtype=object),
            "is_target": self.is_target, "detected": self.detected,
        }, columns=list(COLUMNS))

    def write(self, ws: Workspace) -> Path:
        """Write ``faces/<id>.parquet`` atomically, with ``meta`` in the file's metadata."""
        path = ws.faces_path(self.video_id)
        io.write_parquet(self.to_frame(), path, metadata={"video_id": self.video_id, **self.meta})
        return path

    # ---- what consumers ask ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def n_frames(self) -> int | None:
        """Frames of the 30 fps video the stage saw (from its metadata), if recorded."""
        n = self.meta.get("n_frames")
        return int(n) if n is not None else None

    @property
    def target_track(self) -> int | None:
        t = self.meta.get("target_track")
        return int(t) if t is not None else None

    @property
    def track_ids(self) -> list[int]:
        return sorted(int(t) for t in np.unique(self.track_id))

    def select(self, keep: np.ndarray) -> FaceTracks:
        return FaceTracks(self.video_id, self.frame[keep], self.track_id[keep], self.boxes[keep], self.scores[keep],
                          self.landmarks[keep], self.is_target[keep], self.detected[keep], self.meta)

    def track(self, track_id: int) -> FaceTracks:
        return self.select(self.track_id == track_id)

    def with_target(self, is_target: np.ndarray, **meta: Any) -> FaceTracks:
        """The same faces with another subject choice (and updated metadata)."""
        return FaceTracks(self.video_id, self.frame, self.track_id, self.boxes, self.scores, self.landmarks,
                          np.asarray(is_target, bool), self.detected, {**self.meta, **meta})

    def target_rows(self) -> np.ndarray:
        """Indices of the subject's faces: one row per frame where it is present, in frame order."""
        idx = np.flatnonzero(self.is_target)
        idx = idx[np.argsort(self.frame[idx], kind="stable")]
        _, first = np.unique(self.frame[idx], return_index=True)
        return idx[first]

    def target(self) -> FaceTracks:
        """The subject's faces: one row per frame where it is present, in frame order."""
        return self.select(self.target_rows())

    def box_at(self, frame: int) -> np.ndarray | None:
        """The subject's box (x1, y1, x2, y2) on ``frame``, or None when it is not there."""
        t = self.target()
        i = np.searchsorted(t.frame, frame)
        return t.boxes[i] if i < len(t) and t.frame[i] == frame else None

    def mask(self, n_frames: int) -> np.ndarray:
        """Per frame of the 30 fps video: is the subject's face there?"""
        out = np.zeros(n_frames, bool)
        f = self.frame[self.is_target]
        out[f[(f >= 0) & (f < n_frames)]] = True
        return out
