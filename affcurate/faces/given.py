"""Faces a dataset gives with its labels (AFEW-VA's 68 landmarks per frame, AffectNet's box and landmarks), used
instead of detection: ``affcurate faces run WS --from-labels FORMAT PATH…``.

The geometry is in pixels of the source frames; it is put on the 30 fps grid through the frame map (each grid
frame takes the geometry of the source frame it shows) and scaled to the transcoded size. The subject is the
one face given per frame; 68 points are reduced to the template's 5 (eye centres, nose tip, mouth corners) and
a face given by its box alone gets the template's 5 points fitted into the box.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.faces.align import TEMPLATE_112, aligned_crop, eye_centres
from affcurate.faces.crops import CropSink, write_subject_crops
from affcurate.faces.detect_pass import DecodeStats, decode_frames
from affcurate.faces.table import FaceTracks
from affcurate.settings import FacesSettings
from affcurate.workspace import Workspace


@dataclass(frozen=True)
class GivenFaces:
    """One video's given faces: per source frame ``src_frame (N,)``, ``boxes (N, 4)`` x1 y1 x2 y2 (NaN where only
    landmarks are given), ``landmarks (N, K, 2)`` (K = 0 when only boxes are given), and the ``subject`` (actor)
    when the dataset names one."""

    video_id: str
    src_frame: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    subject: str | None = None

    def key(self) -> str:
        """A digest of the geometry, for the stage's resume key."""
        h = hashlib.sha256()
        for a in (self.src_frame, self.boxes, self.landmarks):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(self.subject).encode())
        return h.hexdigest()[:16]


def five_points(landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The template's 5 points of one face: from 68 landmarks, from 5, or fitted into its box."""
    lm = np.asarray(landmarks, np.float64)
    if len(lm) >= 68:
        left, right = eye_centres(lm)
        return np.stack([left, right, lm[30], lm[48], lm[54]])
    if len(lm) == 5:
        return lm
    x1, y1, x2, y2 = box
    return np.stack([x1 + TEMPLATE_112[:, 0] / 112 * (x2 - x1), y1 + TEMPLATE_112[:, 1] / 112 * (y2 - y1)], 1)


def _box_of(points: np.ndarray) -> np.ndarray:
    (x1, y1), (x2, y2) = points.min(0), points.max(0)
    return np.array([x1, y1, x2, y2])


def on_grid(ws: Workspace, given: GivenFaces, row: dict[str, Any]) -> FaceTracks:
    """The given faces as the subject's track on the 30 fps grid of ``row``'s video (a manifest row)."""
    vid = given.video_id
    if int(row.get("rotation") or 0) % 360:
        raise AffcurateError(f"{vid}: the source is rotated; given face geometry is in unrotated source pixels, "
                             "expected a source without rotation (use detection for this video)")
    scale = float(row["out_width"]) / float(row["width"]) if row.get("width") and row.get("out_width") else 1.0
    fm = ws.frame_map(vid)
    index = {int(f): i for i, f in enumerate(given.src_frame)}
    frames, boxes, points = [], [], []
    for grid_frame, src in zip(fm["frame"].to_numpy(), fm["src_frame"].to_numpy(), strict=True):
        i = index.get(int(src))
        if i is None:
            continue
        lm = given.landmarks[i] if given.landmarks.shape[1] else np.zeros((0, 2))
        box = given.boxes[i]
        if len(lm) == 0 and np.isnan(box).any():
            continue
        five = five_points(lm, box) * scale
        frames.append(int(grid_frame))
        points.append(five)
        boxes.append(box * scale if not np.isnan(box).any() else _box_of((lm if len(lm) else five) * scale))
    n = len(frames)
    return FaceTracks(vid, np.asarray(frames, np.int64), np.zeros(n, np.int64),
                      np.asarray(boxes, np.float32).reshape(n, 4), np.ones(n, np.float32),
                      np.asarray(points, np.float32).reshape(n, 5, 2), np.ones(n, bool), np.ones(n, bool))


def process_given(ws: Workspace, given: GivenFaces, settings: FacesSettings) -> dict[str, Any]:
    """The faces stage for one video whose faces are given: its faces table and the subject's crops."""
    t0 = time.perf_counter()
    vid = given.video_id
    row = ws.manifest(with_faces=False).set_index("video_id").loc[vid].to_dict()
    tracks = on_grid(ws, given, {"video_id": vid, **row})
    stats = DecodeStats()
    wanted = dict(zip(tracks.frame.tolist(), range(len(tracks)), strict=True))
    n_frames = 0
    with io.scratch_path(ws.crops_path(vid).with_name(f"{vid}.given.h5"), suffix=".h5") as all_crops:
        sink = CropSink(all_crops, settings.crop_size)
        rows = np.full(len(tracks), -1, np.int64)
        try:
            for idx, rgb in decode_frames(ws.video_path(vid), ws.settings.ingest.fps, stats):
                n_frames = idx + 1
                i = wanted.get(idx)
                if i is not None:
                    rows[i] = sink.n + len(sink.buf)
                    sink.add(aligned_crop(rgb, tracks.landmarks[i], settings.crop_size, settings.align))
        finally:
            sink.close()
        tracks = tracks.select(rows >= 0)
        tracks = tracks.with_target(np.ones(len(tracks), bool), video_id=vid, detector="given", n_frames=n_frames,
                                    target_track=0 if len(tracks) else None, target_method="given",
                                    settings=settings.__dict__, width=row.get("out_width"),
                                    height=row.get("out_height"))
        n_crops = write_subject_crops(ws, tracks, rows[rows >= 0], all_crops, settings)
    tracks.write(ws)
    return {"status": "ok" if len(tracks) else "no_face", "n_frames": n_frames, "n_detections": 0,
            "n_tracks": 1 if len(tracks) else 0, "target_track": 0 if len(tracks) else None,
            "target_frames": int(tracks.mask(n_frames).sum()), "n_crops": n_crops, "bad_frames": stats.bad_frames,
            "detector_calls": 0, "given_subject": given.subject, "seconds": round(time.perf_counter() - t0, 3)}


def read_given(ws: Workspace, format: str, paths: list[str | Path]) -> dict[str, GivenFaces]:
    """The faces given by the files of ``format`` (a format that carries face geometry), by video id; videos not
    in the workspace are left out."""
    from affcurate.labels.formats import ImportContext, expand_paths, get_format
    from affcurate.labels.formats.geometry import GEOMETRY

    if format not in GEOMETRY:
        raise AffcurateError(f"format {format!r} gives no face geometry; formats that do: {', '.join(GEOMETRY)}")
    ctx = ImportContext(ws)
    files = expand_paths([Path(p) for p in paths], get_format(format).suffixes)
    if not files:
        raise AffcurateError(f"no {format} files found in {', '.join(str(p) for p in paths)}")
    known = set(ws.video_ids())
    out: dict[str, GivenFaces] = {}
    for f in files:
        for g in GEOMETRY[format](f, ctx):
            if g.video_id in known:
                out[g.video_id] = g
    if not out:
        raise AffcurateError(f"the {format} files give faces for none of the workspace's videos")
    return out
