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
from pathlib import Path
from typing import Any

import av
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
               side: str | None = None) -> str:
    transcode = ws.ledger("transcode", vid) or {}
    parts = [transcode.get("key"), json.dumps(settings.__dict__, sort_keys=True, default=list), override]
    return stage_key(*parts, side) if side is not None else stage_key(*parts)  # keys made before sides stay


def process_video(ws: Workspace, vid: str, settings: FacesSettings, override: int | None = None,
                  detector: Detector | None = None, side: str | None = None) -> dict[str, Any]:
    """Run the faces stage on one ingested video and write its faces table and crops (atomically)."""
    t0 = time.perf_counter()
    path = ws.video_path(vid)
    if not path.exists():
        raise AffcurateError(f"{vid}: {path} is missing; run `affcurate ingest {ws.root}` first")
    with av.open(str(path)) as c:
        width, height = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
    detector = detector or shared_detector(settings.detector, settings.min_score, settings.detect_size)
    stats = DecodeStats()
    # every face's crop, in a working file of this process's own (two writers never share one)
    with io.scratch_path(ws.crops_path(vid).with_name(f"{vid}.all.h5"), suffix=".h5") as all_crops:
        sink = CropSink(all_crops, settings.crop_size)
        try:
            detection = DetectionPass(detector, settings, sink)
            for idx, rgb in decode_frames(path, ws.settings.ingest.fps, stats):
                detection.push(idx, rgb)
            detection.finish()
        finally:
            sink.close()
        n_frames = detection.n_frames
        tracks, crop_rows = link_tracks(detection.faces(vid), detection.tracker)
        is_target, target_track = choose_target(tracks, width, height, n_frames, settings.target, override, side)
        method = "manual" if override is not None else f"side:{side}" if side is not None else settings.target
        tracks = tracks.with_target(
            is_target, video_id=vid, detector=settings.detector, n_frames=n_frames, target_track=target_track,
            target_method=method, settings=settings.__dict__,
            width=width, height=height)
        n_crops = write_subject_crops(ws, tracks, crop_rows, all_crops, settings)
    tracks.write(ws)
    return {
        "status": "ok" if len(tracks) else "no_face",
        "n_frames": n_frames,
        "n_detections": int(tracks.detected.sum()),
        "n_tracks": len(tracks.track_ids),
        "target_track": target_track,
        "target_frames": int(tracks.mask(n_frames).sum()),
        "n_crops": n_crops,
        "bad_frames": stats.bad_frames,
        "detector_calls": detection.n_detector_calls,
        "seconds": round(time.perf_counter() - t0, 3),
    }


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
    rows = []
    for res in map_items(faces_for_video, items, spec, "faces", progress or current_progress()):
        vid = res.item["video_id"]
        if res.error:
            rows.append({"video_id": vid, "status": "error", "error": res.error})
        else:
            v = res.value
            rows.append({"video_id": vid, "status": v["status"], "error": None, **{k: v.get(k) for k in SUMMARY}})
    if rows:
        status.record(ws, rows)
    order = {v: i for i, v in enumerate(ids)}
    summary = pd.DataFrame(rows, columns=["video_id", "status", "error", *SUMMARY])
    return summary.sort_values("video_id", key=lambda s: s.map(order)).reset_index(drop=True)


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

