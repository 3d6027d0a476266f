"""What a writer needs besides the labels: ``ExportContext``, built from a workspace by :meth:`ExportContext.of`.

A writer is ``write(table, out, ctx) -> [paths]``: the labels come as a :class:`LabelTable`, everything else
(the workspace's label settings, each video's length, subject, source name and split, the subject's face boxes,
the crops) through the context, so a writer never opens a workspace table itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.faces.table import FaceTracks
from affcurate.labels.table import LabelTable
from affcurate.settings import LabelsSettings

if TYPE_CHECKING:
    from affcurate.workspace import Workspace


@dataclass(frozen=True)
class VideoFacts:
    """What the manifest and the split say about one video (None where they say nothing)."""

    n_frames: int | None = None
    """Frames of the 30 fps video."""
    subject: str | None = None
    source: str | None = None
    """The source's file name (``clip_a.mp4``)."""
    split: str | None = None
    """train, val or test."""


def _no_faces(video_id: str) -> FaceTracks:
    return FaceTracks.empty(video_id)


def _no_crops(video_id: str) -> Path | None:
    return None


@dataclass(frozen=True)
class ExportContext:
    """The label settings, per video its facts, its faces (``faces(id)``) and its crops file (``crops(id)``,
    None when there is none)."""

    labels: LabelsSettings = field(default_factory=LabelsSettings)
    videos: dict[str, VideoFacts] = field(default_factory=dict)
    faces: Callable[[str], FaceTracks] = _no_faces
    crops: Callable[[str], Path | None] = _no_crops
    fps: float = 30.0
    """The frame rate of the workspace's grid (the frames labels.parquet counts)."""

    @classmethod
    def of(cls, ws: Workspace) -> ExportContext:
        """The context of a workspace: its manifest and split are read now, faces and crops when asked."""
        m = ws.manifest(with_faces=False) if ws.has_manifest() else pd.DataFrame(columns=["video_id"])
        split = _splits(ws)
        videos = {str(r["video_id"]): VideoFacts(_int(r.get("out_frames")), _str(r.get("subject")),
                                                 Path(str(r["path"])).name if _str(r.get("path")) else None,
                                                 split.get(str(r["video_id"])))
                  for r in m.to_dict("records")}

        @cache  # a writer may ask for the same video's faces more than once
        def faces(video_id: str) -> FaceTracks:
            return FaceTracks.read_or_empty(ws, video_id)

        def crops(video_id: str) -> Path | None:
            path = ws.crops_path(video_id)
            return path if path.exists() else None

        return cls(ws.settings.labels, videos, faces, crops, float(ws.settings.fps))

    def video(self, video_id: str) -> VideoFacts:
        return self.videos.get(video_id, VideoFacts())

    def n_frames(self, video_id: str, rows: LabelTable) -> int:
        """Frames of the 30 fps video, or (for a video the manifest does not know) up to its last labelled row."""
        n = self.video(video_id).n_frames
        if n is not None:
            return n
        return int(rows.frame["frame"].max()) + 1 if len(rows) else 0

    def boxes(self, video_id: str, frames: np.ndarray) -> np.ndarray:
        """(N, 4) x1 y1 x2 y2 of the subject's face on each of ``frames``, NaN where it is not there."""
        t = self.faces(video_id).target()
        frames = np.asarray(frames, np.int64)
        out = np.full((len(frames), 4), np.nan, np.float32)
        if len(t):
            # FaceTracks.box_at for many frames at once: the subject's rows are one per frame, in frame order
            i = np.minimum(np.searchsorted(t.frame, frames), len(t) - 1)
            hit = t.frame[i] == frames
            out[hit] = t.boxes[i[hit]]
        return out


def by_video(table: LabelTable) -> Iterator[tuple[str, LabelTable]]:
    """Each video's rows in frame order, as :meth:`LabelTable.for_video` gives them, in one pass over the table."""
    for vid, part in table.frame.groupby("video_id", sort=False):
        rows = part.sort_values("frame", kind="stable").reset_index(drop=True)
        yield str(vid), LabelTable(rows, table.aus, table.n_classes, table.meta)


def label_frames(rows: LabelTable, expressions: tuple[str, ...] | list[str]) -> list[tuple[str, np.ndarray]]:
    """For interval formats: per AU the frames where it is present, per expression class the frames showing it."""
    frames = rows.frame["frame"].to_numpy(np.int64)
    out = [(a, frames[p == 1]) for a, p in zip(rows.aus, rows.au_presence().T, strict=True)]
    if rows.has_task("expr"):
        expr = rows.expr()
        out += [(name, frames[expr == k]) for k, name in enumerate(expressions)]
    return out


def _splits(ws: Workspace) -> dict[str, str]:
    if not ws.splits_path.exists():
        return {}
    sp = io.read_parquet(ws.splits_path)
    if "split" not in sp.columns:
        return {}
    return {str(v): str(s) for v, s in zip(sp["video_id"], sp["split"], strict=True) if _str(s)}


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _str(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
