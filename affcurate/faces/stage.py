"""The faces stage of one video: decode → detect (every k frames, carrying boxes between) → track → choose the
subject → align → ``faces/<id>.parquet`` and ``crops/<id>.h5``.

One decoding pass (:mod:`affcurate.faces.detect_pass`) keeps memory flat in the video's length: every face's
aligned crop goes to a working file until the subject is known, then the subject's are copied in frame order.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import av
import cv2
import h5py
import numpy as np
import pandas as pd
from rich.progress import Progress

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, make_progress, map_items
from affcurate.faces.detect_pass import CropSink, DecodeStats, Pass1, decode_frames
from affcurate.faces.detectors import Detector, make_detector
from affcurate.faces.target import choose_target
from affcurate.faces.tracker import Tracker
from affcurate.lock import writes_workspace
from affcurate.settings import FacesSettings
from affcurate.workspace import Workspace, stage_key

FACE_COLUMNS = ["frame", "track_id", "x1", "y1", "x2", "y2", "score", "landmarks", "is_target", "detected"]


def _faces_key(ws: Workspace, vid: str, settings: FacesSettings, override: int | None) -> str:
    transcode = ws.ledger("transcode", vid) or {}
    return stage_key(transcode.get("key"), json.dumps(settings.__dict__, sort_keys=True, default=list), override)


def process_video(ws: Workspace, vid: str, settings: FacesSettings, override: int | None = None,
                  detector: Detector | None = None) -> dict[str, Any]:
    """Run the faces stage on one ingested video and write its faces table and crops (atomically)."""
    t0 = time.perf_counter()
    path = ws.video_path(vid)
    if not path.exists():
        raise AffcurateError(f"{vid}: {path} is missing; run `affcurate ingest {ws.root}` first")
    fps = ws.settings.ingest.fps
    with av.open(str(path)) as c:
        width, height = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
    detector = detector or make_detector(settings.detector, settings.min_score, settings.detect_size)
    stats = DecodeStats()
    # every face's crop, in a working file of this process's own (two writers never share one)
    with io.scratch_path(ws.crops_path(vid).with_name(f"{vid}.all.h5"), suffix=".h5") as all_crops:
        sink = CropSink(all_crops, settings.crop_size)
        try:
            p1 = Pass1(detector, settings, sink)
            for idx, rgb in decode_frames(path, fps, stats):
                p1.push(idx, rgb)
            p1.finish()
        finally:
            sink.close()
        n_frames = p1.n_frames
        faces = _faces_table(p1)
        if not faces.empty:
            faces = _relink(faces, p1.tracker)
        is_target, target_track = choose_target(faces, width, height, n_frames, settings.target, override)
        faces["is_target"] = is_target
        meta = {"video_id": vid, "detector": settings.detector, "n_frames": n_frames, "target_track": target_track,
                "target_method": "manual" if override is not None else settings.target,
                "settings": settings.__dict__, "width": width, "height": height}
        n_crops = _write_crops(ws, vid, all_crops, faces, settings)
    io.write_parquet(faces[FACE_COLUMNS], ws.faces_path(vid), metadata=meta)
    target_frames = int(faces.loc[faces["is_target"], "frame"].nunique()) if len(faces) else 0
    return {
        "status": "ok" if len(faces) else "no_face",
        "n_frames": n_frames,
        "n_detections": int(faces["detected"].sum()) if len(faces) else 0,
        "n_tracks": int(faces["track_id"].nunique()) if len(faces) else 0,
        "target_track": target_track,
        "target_frames": target_frames,
        "n_crops": n_crops,
        "bad_frames": stats.bad_frames,
        "detector_calls": p1.n_detector_calls,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _faces_table(p1: Pass1) -> pd.DataFrame:
    if not p1.rows:
        return pd.DataFrame({
            "frame": pd.Series(dtype="int64"), "track_id": pd.Series(dtype="int64"),
            **{c: pd.Series(dtype="float32") for c in ("x1", "y1", "x2", "y2", "score")},
            "landmarks": pd.Series(dtype="object"), "is_target": pd.Series(dtype="bool"),
            "detected": pd.Series(dtype="bool"), "row": pd.Series(dtype="int64"),
        })
    cols = list(zip(*p1.rows, strict=True))
    df = pd.DataFrame({
        "frame": np.asarray(cols[0], np.int64), "track_id": np.asarray(cols[1], np.int64),
        "x1": np.asarray(cols[2], np.float32), "y1": np.asarray(cols[3], np.float32),
        "x2": np.asarray(cols[4], np.float32), "y2": np.asarray(cols[5], np.float32),
        "score": np.asarray(cols[6], np.float32),
        "landmarks": [np.round(np.asarray(lm, np.float32), 2).tolist() for lm in cols[7]],
        "detected": np.asarray(cols[8], bool),
        "row": np.arange(len(p1.rows), dtype=np.int64),
    })
    return df.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)


def _relink(faces: pd.DataFrame, tracker: Tracker) -> pd.DataFrame:
    boxes = faces[["x1", "y1", "x2", "y2"]].to_numpy()
    g = faces.groupby("track_id")
    first = dict(zip(g.head(1)["track_id"], g.head(1).index, strict=True))
    last = dict(zip(g.tail(1)["track_id"], g.tail(1).index, strict=True))
    mapping = tracker.relink({int(t): (boxes[first[t]], boxes[last[t]]) for t in first})
    faces["track_id"] = faces["track_id"].map(mapping).astype(np.int64)
    # renumber 0..n-1 in order of appearance, so ids are small and stable for the same video and settings
    order = {t: i for i, t in enumerate(pd.unique(faces["track_id"]))}
    faces["track_id"] = faces["track_id"].map(order).astype(np.int64)
    # a carried box of one piece may overlap the start of the next: keep the detected row
    faces = faces.sort_values(["frame", "track_id", "detected"], ascending=[True, True, False], kind="stable")
    return faces.drop_duplicates(["frame", "track_id"]).reset_index(drop=True)


def _write_crops(ws: Workspace, vid: str, all_crops: Path, faces: pd.DataFrame, settings: FacesSettings) -> int:
    """Copy the subject's crops, one per frame in frame order, into ``crops/<id>.h5`` (atomically)."""
    size = settings.crop_size
    target = faces[faces["is_target"]].sort_values("frame").drop_duplicates("frame")
    rows = target["row"].to_numpy()
    jpeg_dir = ws.root / "cropped_aligned" / vid if settings.export_jpeg else None
    with io.atomic_path(ws.crops_path(vid), suffix=".h5") as tmp, h5py.File(all_crops, "r") as src:
        with h5py.File(tmp, "w") as h5:
            data = h5.create_dataset("crops", shape=(len(rows), size, size, 3), maxshape=(None, size, size, 3),
                                     dtype=np.uint8, chunks=(1, size, size, 3), compression="lzf")
            h5.create_dataset("frames", data=target["frame"].to_numpy(np.int64))
            h5.attrs.update({"video_id": vid, "size": size, "align": settings.align})
            for start in range(0, len(rows), 256):
                part = rows[start:start + 256]
                order = np.argsort(part)
                block = src["crops"][part[order]]  # HDF5 wants increasing indices
                data[start:start + len(part)] = block[np.argsort(order)]
                if jpeg_dir is not None:
                    for crop, f in zip(data[start:start + len(part)], target["frame"].to_numpy()[start:start + len(part)],
                                       strict=True):
                        _, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
                        io.write_bytes(jpeg_dir / f"{int(f) + 1:05d}.jpg", buf.tobytes())
    return len(rows)


# ---- the stage over many videos ---------------------------------------------------------------------------

def _manifest_override(ws: Workspace, vid: str) -> int | None:
    m = ws.manifest()
    row = m.loc[m["video_id"] == vid]
    if row.empty or "target_track" not in row or pd.isna(row["target_track"].iloc[0]):
        return None
    return int(row["target_track"].iloc[0])


def faces_for_video(item: tuple[str, str, dict[str, Any] | None]) -> dict[str, Any]:
    """Process one video unless its ledger says it is done with the same inputs and settings (top-level and
    picklable: it runs in worker processes)."""
    ws_root, vid, overrides = item
    ws = Workspace(Path(ws_root))
    settings = ws.settings.faces
    if overrides:
        settings = ws.settings.replace("faces", **overrides).faces
    override = _manifest_override(ws, vid)
    key = _faces_key(ws, vid, settings, override)
    entry = ws.ledger("faces", vid)
    if entry is not None and entry.get("key") == key and ws.faces_path(vid).exists() and ws.crops_path(vid).exists():
        return {**entry, "skipped": True}
    ws.clear_done("faces", vid)
    out = process_video(ws, vid, settings, override)
    ws.mark_done("faces", vid, key, **out)
    return {**out, "key": key, "skipped": False}


@writes_workspace("affcurate faces run")
def run_faces(ws: Workspace, video_ids: list[str] | None = None, spec: ExecutorSpec | None = None,
              progress: Progress | None = None, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """The faces stage over the ingested videos: one summary row per video (a failure never stops the rest)."""
    ids = ws.video_ids() if video_ids is None else list(video_ids)
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    items = [(str(ws.root), vid, overrides) for vid in ids]
    rows = []
    own = progress is None
    progress = progress or make_progress()
    if own:
        progress.start()
    try:
        for res in map_items(faces_for_video, items, spec, "faces", progress):
            vid = res.item[1]
            if res.error:
                rows.append({"video_id": vid, "status": "error", "error": res.error})
            else:
                v = res.value
                rows.append({"video_id": vid, "status": v["status"], "error": None,
                             **{k: v.get(k) for k in ("n_frames", "n_detections", "n_tracks", "target_track",
                                                      "target_frames", "bad_frames", "seconds", "skipped")}})
    finally:
        if own:
            progress.stop()
    order = {v: i for i, v in enumerate(ids)}
    return pd.DataFrame(rows).sort_values("video_id", key=lambda s: s.map(order)).reset_index(drop=True)


def read_faces(ws: Workspace, vid: str) -> pd.DataFrame:
    path = ws.faces_path(vid)
    if not path.exists():
        raise AffcurateError(f"faces of {vid} are missing: run `affcurate ingest {ws.root}` (or `affcurate faces`)")
    return io.read_parquet(path)


def target_boxes(ws: Workspace, vid: str) -> pd.DataFrame:
    """The subject's box in every frame where it is present: frame, x1, y1, x2, y2."""
    faces = read_faces(ws, vid)
    t = faces[faces["is_target"]].drop_duplicates("frame")
    return t[["frame", "x1", "y1", "x2", "y2"]].reset_index(drop=True)


def target_mask(ws: Workspace, vid: str, n_frames: int) -> np.ndarray:
    """Per frame of the 30 fps video: is the subject's face there?"""
    mask = np.zeros(n_frames, bool)
    if ws.faces_path(vid).exists():
        frames = target_boxes(ws, vid)["frame"].to_numpy()
        mask[frames[frames < n_frames]] = True
    return mask


@writes_workspace("affcurate faces pick")
def pick(ws: Workspace, vid: str, track: int) -> dict[str, Any]:
    """Make ``track`` the subject of ``vid`` (manifest column ``target_track``), then redo its faces."""
    m = ws.manifest()
    if vid not in set(m["video_id"]):
        raise AffcurateError(f"{vid}: no such video in {ws.manifest_path}")
    faces = read_faces(ws, vid)
    tracks = sorted(int(t) for t in faces["track_id"].unique())
    if track not in tracks:
        raise AffcurateError(f"{vid}: track {track} does not exist; its tracks are {tracks}")
    m.loc[m["video_id"] == vid, "target_track"] = track
    m["target_track"] = m["target_track"].astype("Int64")
    ws.write_manifest(m)
    # tracks are deterministic for the same video and settings, so the id means the same person on rerun
    return faces_for_video((str(ws.root), vid, None))
