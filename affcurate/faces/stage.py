"""The faces stage: per video, decode → detect (every k frames, carrying boxes between) → track → choose the
subject → align → ``faces/<id>.parquet`` (:class:`FaceTracks`) and ``crops/<id>.h5``; over many videos, the loop
with its done-ledger and the stage's own table (:mod:`affcurate.faces.status`).

One decoding pass (:mod:`affcurate.faces.detect_pass`) keeps memory flat in the video's length: every face's
aligned crop goes to a working file until the subject is known, then the subject's are copied in frame order
(:mod:`affcurate.faces.crops`).
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress, current_progress, map_items
from affcurate.faces import status
from affcurate.faces.crops import CropSink, write_subject_crops
from affcurate.faces.detect_pass import DecodeStats, DetectionPass, decode_frames
from affcurate.faces.detectors import Detector, shared_detector
from affcurate.faces.given import GivenFaces, process_given
from affcurate.faces.table import FaceTracks
from affcurate.faces.target import choose_target
from affcurate.faces.tracker import link_tracks
from affcurate.lock import writes_workspace
from affcurate.settings import FacesSettings
from affcurate.workspace import Workspace, stage_key

SUMMARY = ("n_frames", "n_detections", "n_tracks", "target_track", "target_frames", "bad_frames", "seconds",
           "skipped", "given_subject")


def _faces_key(ws: Workspace, vid: str, settings: FacesSettings, override: int | None,
               side: str | None = None, transcode_key: str | None = None) -> str:
    """The faces ledger's key: the video's transcode key (from its ledger unless given), settings and subject."""
    if transcode_key is None:
        transcode_key = (ws.ledger("transcode", vid) or {}).get("key")
    parts = [transcode_key, json.dumps(settings.__dict__, sort_keys=True, default=list), override]
    return stage_key(*parts, side) if side is not None else stage_key(*parts)  # keys made before sides stay


class VideoFaces:
    """The faces stage of one video fed frame by frame: :meth:`push` each decoded frame in order, then
    :meth:`finish` writes its faces table and crops (atomically). The frames come from the video's file
    (:func:`process_video`) or from the media stage as it encodes them (:class:`FacesOfEncodedFrames`)."""

    def __init__(self, ws: Workspace, vid: str, settings: FacesSettings, width: int, height: int,
                 override: int | None = None, detector: Detector | None = None, side: str | None = None) -> None:
        self.t0 = time.perf_counter()
        self.ws, self.vid, self.settings = ws, vid, settings
        self.width, self.height, self.override, self.side = width, height, override, side
        detector = detector or shared_detector(settings.detector, settings.min_score, settings.detect_size)
        self.stats = DecodeStats()
        self._files = ExitStack()
        # every face's crop, in a working file of this process's own (two writers never share one)
        self._all_crops = self._files.enter_context(
            io.scratch_path(ws.crops_path(vid).with_name(f"{vid}.all.h5"), suffix=".h5"))
        self._sink = CropSink(self._all_crops, settings.crop_size)
        self._files.callback(self._sink.close)
        self.detection = DetectionPass(detector, settings, self._sink)

    def push(self, idx: int, rgb: np.ndarray) -> None:
        self.detection.push(idx, rgb)

    def abort(self) -> None:
        """Give up (the frames stopped coming): the working file goes, nothing is written."""
        self._files.close()

    def finish(self) -> dict[str, Any]:
        """Track, choose the subject, write ``faces/<id>.parquet`` and ``crops/<id>.h5``; the summary figures."""
        with self._files:
            detection, settings, vid = self.detection, self.settings, self.vid
            detection.finish()
            self._sink.close()
            n_frames = detection.n_frames
            tracks, crop_rows = link_tracks(detection.faces(vid), detection.tracker)
            is_target, target_track = choose_target(tracks, self.width, self.height, n_frames, settings.target,
                                                    self.override, self.side)
            method = ("manual" if self.override is not None else f"side:{self.side}" if self.side is not None
                      else settings.target)
            tracks = tracks.with_target(
                is_target, video_id=vid, detector=settings.detector, n_frames=n_frames, target_track=target_track,
                target_method=method, settings=settings.__dict__, width=self.width, height=self.height)
            n_crops = write_subject_crops(self.ws, tracks, crop_rows, self._all_crops, settings)
        tracks.write(self.ws)
        return {
            "status": "ok" if len(tracks) else "no_face",
            "n_frames": n_frames,
            "n_detections": int(tracks.detected.sum()),
            "n_tracks": len(tracks.track_ids),
            "target_track": target_track,
            "target_frames": int(tracks.mask(n_frames).sum()),
            "n_crops": n_crops,
            "bad_frames": self.stats.bad_frames,
            "detector_calls": detection.n_detector_calls,
            "seconds": round(time.perf_counter() - self.t0, 3),
        }


def process_video(ws: Workspace, vid: str, settings: FacesSettings, override: int | None = None,
                  detector: Detector | None = None, side: str | None = None) -> dict[str, Any]:
    """Run the faces stage on one ingested video and write its faces table and crops (atomically)."""
    path = ws.video_path(vid)
    if not path.exists():
        raise AffcurateError(f"{vid}: {path} is missing; run `affcurate ingest {ws.root}` first")
    with av.open(str(path)) as c:
        width, height = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
    faces = VideoFaces(ws, vid, settings, width, height, override, detector, side)
    try:
        for idx, rgb in decode_frames(path, ws.settings.ingest.fps, faces.stats):
            faces.push(idx, rgb)
    except BaseException:
        faces.abort()
        raise
    return faces.finish()


# ---- the stage over many videos ---------------------------------------------------------------------------

def faces_for_video(item: dict[str, Any]) -> dict[str, Any]:
    """Process one video unless its ledger says it is done with the same inputs and settings (top-level and
    picklable: it runs in worker processes). ``item``: ws_root, video_id, overrides, given, and the subject's
    track (``override``) or ``side`` when they are not the stage's to choose."""
    ws = Workspace(Path(item["ws_root"]))
    vid, overrides, given = item["video_id"], item["overrides"], item["given"]
    override, side = item["override"], item["side"]
    settings = ws.settings.faces
    if overrides:
        settings = ws.settings.replace("faces", **overrides).faces
    key = _faces_key(ws, vid, settings, override, side)
    if given is not None:
        key = stage_key(key, "given", given.key())
    entry = ws.ledger("faces", vid, key)
    if entry is not None and ws.faces_path(vid).exists() and ws.crops_path(vid).exists():
        return {**entry, "skipped": True}
    ws.clear_done("faces", vid)
    if given is not None:
        out = process_given(ws, given, settings)
    else:
        out = process_video(ws, vid, settings, override, side=side)
    ws.mark_done("faces", vid, key, **out)
    return {**out, "key": key, "skipped": False}


@writes_workspace("affcurate faces run")
def find_faces(ws: Workspace, video_ids: list[str] | None = None, spec: ExecutorSpec | None = None,
               progress: Progress | None = None, overrides: dict[str, Any] | None = None,
               given: dict[str, GivenFaces] | None = None) -> pd.DataFrame:
    """The faces stage over the ingested videos: one summary row per video (a failure never stops the rest),
    also kept in the stage's own table. ``given``: faces a dataset gives (:func:`affcurate.faces.given.read_given`),
    used instead of detection for those videos."""
    ids = ws.video_ids() if video_ids is None else list(video_ids)
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    choice = status.subject_choices(ws, ids)  # read once here, not once per video in the workers
    items = [{"ws_root": str(ws.root), "video_id": vid, "overrides": overrides, "given": (given or {}).get(vid),
              **choice[vid]} for vid in ids]
    outcomes = {res.item["video_id"]: (res.value, res.error)
                for res in map_items(faces_for_video, items, spec, "faces", progress or current_progress())}
    return record_outcomes(ws, ids, outcomes)


def record_outcomes(ws: Workspace, ids: list[str], outcomes: dict[str, tuple[dict[str, Any] | None, str | None]]
                    ) -> pd.DataFrame:
    """Keep each video's outcome (its figures, or the one-line error) in the stage's table with one write; the
    summary, one row per video of ``ids`` that has an outcome, in that order."""
    rows = []
    for vid in ids:
        if vid not in outcomes:
            continue
        value, error = outcomes[vid]
        if error is not None or value is None:
            rows.append({"video_id": vid, "status": "error", "error": error})
        else:
            rows.append({"video_id": vid, "status": value["status"], "error": None,
                         **{k: value.get(k) for k in SUMMARY}})
    if rows:
        status.record(ws, rows)
    return pd.DataFrame(rows, columns=["video_id", "status", "error", *SUMMARY])


# ---- the faces stage as a consumer of the frames the media stage encodes ---------------------------------

def faces_of_encoded_frames(ws: Workspace, video_ids: list[str]) -> dict[str, FacesOfVideo]:
    """What the media stage needs to hand each video's frames to the faces stage while it encodes them (one
    decoding pass for both); read once here, in the calling process."""
    choice = status.subject_choices(ws, video_ids)
    return {vid: FacesOfVideo(vid, choice[vid]["override"], choice[vid]["side"]) for vid in video_ids}


@dataclass(frozen=True)
class FacesOfVideo:
    """The faces stage's side of one video in the single pass (picklable: it travels with the work item). The
    faces table, crops, ledger and figures are those :func:`faces_for_video` gives on the same file."""

    video_id: str
    override: int | None = None
    side: str | None = None

    def open(self, ws: Workspace, transcode_key: str, width: int, height: int) -> _Fed | None:
        """Start taking frames of the video being encoded; None when its faces are done already."""
        settings = ws.settings.faces
        key = _faces_key(ws, self.video_id, settings, self.override, self.side, transcode_key)
        entry = ws.ledger("faces", self.video_id, key)
        if entry is not None and ws.faces_path(self.video_id).exists() and ws.crops_path(self.video_id).exists():
            return None
        ws.clear_done("faces", self.video_id)
        return _Fed(VideoFaces(ws, self.video_id, settings, width, height, self.override, side=self.side), key)

    def alone(self, ws: Workspace) -> dict[str, Any]:
        """The faces of the video from its file (the media stage had nothing to encode)."""
        return faces_for_video({"ws_root": str(ws.root), "video_id": self.video_id, "overrides": None,
                                "given": None, "override": self.override, "side": self.side})


class _Fed:
    def __init__(self, faces: VideoFaces, key: str) -> None:
        self.faces, self.key = faces, key
        self.push, self.abort = faces.push, faces.abort

    def finish(self) -> dict[str, Any]:
        out = self.faces.finish()
        self.faces.ws.mark_done("faces", self.faces.vid, self.key, **out)
        return {**out, "key": self.key, "skipped": False}


@writes_workspace("affcurate faces pick")
def pick(ws: Workspace, vid: str, track: int) -> dict[str, Any]:
    """Make ``track`` the subject of ``vid`` (kept in the faces stage's table), then redo its faces."""
    if vid not in set(ws.video_ids(status=None)):
        raise AffcurateError(f"{vid}: no such video in {ws.manifest_path}")
    tracks = FaceTracks.read(ws, vid).track_ids
    if track not in tracks:
        raise AffcurateError(f"{vid}: track {track} does not exist; its tracks are {tracks}")
    status.record_pick(ws, vid, track)
    # tracks are deterministic for the same video and settings, so the id means the same person on rerun
    row = find_faces(ws, [vid]).iloc[0].to_dict()
    if row["status"] == "error":
        raise AffcurateError(f"{vid}: {row['error']}")
    return row

