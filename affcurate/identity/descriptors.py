"""Face descriptors of each video's subject: a few well-chosen frames (:mod:`affcurate.identity.frames`: one per
started 10 seconds of presence, at most ``[subjects] frames``), aligned and described by dlib
(:mod:`affcurate.identity.model`), stored per video in ``identity/descriptors/<id>.parquet`` with the frame
each came from, and gathered in
``identity/descriptors.parquet`` (one row per frame: video_id, frame, descriptor (128 float32), pose, sharpness,
aligned_by, key).

Per-video work runs on the executor and is resumable: a video's ledger key holds the model, the rule and number
of frames, the faces table's content hash and the transcode's key, so a second run computes nothing and a changed
faces table (another subject picked, other face settings) recomputes that video alone.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress, current_progress, map_items
from affcurate.faces.table import FaceTracks
from affcurate.identity import frames as choose
from affcurate.identity import model
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace, stage_key

STAGE = "descriptors"
SCHEMA = pa.schema([("video_id", pa.string()), ("frame", pa.int64()), ("descriptor", pa.list_(pa.float32(), 128)),
                    ("pose", pa.float32()), ("sharpness", pa.float32()), ("aligned_by", pa.string())])
SUMMARY = ("video_id", "status", "n_descriptors", "skipped", "seconds", "error")


def identity_dir(ws: Workspace) -> Path:
    return ws.root / "identity"


def video_file(ws: Workspace, vid: str) -> Path:
    return identity_dir(ws) / "descriptors" / f"{ws.faces_path(vid).stem}.parquet"


def all_file(ws: Workspace) -> Path:
    return identity_dir(ws) / "descriptors.parquet"


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def descriptor_key(ws: Workspace, vid: str, frames: int) -> str:
    """What a video's descriptors depend on: the model, how many frames, its faces table and its video."""
    faces = ws.faces_path(vid)
    if not faces.exists():
        raise AffcurateError(f"faces of {vid} are missing: run `affcurate faces run {ws.root}` first")
    transcode = (ws.ledger("transcode", vid) or {}).get("key")
    return stage_key(model.MODEL_ID, choose.SECONDS_PER_DESCRIPTOR, frames, _file_hash(faces), transcode)


def compute(ws: Workspace, vid: str, frames: int) -> pa.Table:
    """The descriptors of up to ``frames`` chosen frames of the subject of ``vid`` (no rows when it has no face;
    how many and which: :mod:`affcurate.identity.frames`)."""
    target = FaceTracks.read(ws, vid).target()
    frames = choose.how_many(target, frames, ws.settings.ingest.fps)
    cand = choose.candidates(target, frames)
    pose = choose.pose_scores(target)
    images = dict(choose.read_frames(ws.video_path(vid), target.frame[cand].tolist(), ws.settings.ingest.fps))
    cand = np.asarray([r for r in cand if int(target.frame[r]) in images], np.int64)
    sharp = np.asarray([choose.sharpness(images[int(target.frame[r])], target.boxes[r]) for r in cand])
    rows = cand[choose.final(pose[cand], sharp, frames)] if len(cand) else cand
    chips, how = [], []
    for r in rows:
        rgb = images[int(target.frame[r])]
        shape, by = model.shape_in_box(rgb, target.boxes[r], choose.five_points(target.landmarks[r:r + 1])[0])
        chips.append(model.chip(rgb, shape))
        how.append(by)
    desc = model.descriptors(chips)
    sharp_of = dict(zip(cand.tolist(), sharp.tolist(), strict=True))
    return pa.table({
        "video_id": pa.array([vid] * len(rows), pa.string()),
        "frame": pa.array(target.frame[rows].astype(np.int64)),
        "descriptor": pa.FixedSizeListArray.from_arrays(pa.array(desc.reshape(-1), pa.float32()), 128),
        "pose": pa.array(pose[rows].astype(np.float32)),
        "sharpness": pa.array(np.asarray([sharp_of[int(r)] for r in rows], np.float32)),
        "aligned_by": pa.array(how, pa.string()),
    }, schema=SCHEMA)


def _write(table: pa.Table, path: Path, meta: dict[bytes, bytes]) -> None:
    table = table.replace_schema_metadata(meta)
    with io.atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")


def describe_item(item: tuple[str, str, int]) -> dict[str, Any]:
    """One video's descriptors unless its ledger has them for the same inputs (top-level and picklable: it runs
    in worker processes). Returns the ledger's facts and, when computed, the rows."""
    root, vid, frames = item
    ws = Workspace(Path(root))
    key = descriptor_key(ws, vid, frames)
    entry = ws.ledger(STAGE, vid, key)
    if entry is not None and video_file(ws, vid).exists():
        return {**entry, "skipped": True}
    t0 = time.perf_counter()
    ws.clear_done(STAGE, vid)
    table = compute(ws, vid, frames)
    _write(table, video_file(ws, vid), {b"key": key.encode()})
    out = {"status": "ok" if table.num_rows else "no_face", "n_descriptors": table.num_rows,
           "seconds": round(time.perf_counter() - t0, 3)}
    ws.mark_done(STAGE, vid, key, **out)
    return {**out, "key": key, "skipped": False, "table": table}


def _read_all(ws: Workspace) -> tuple[pa.Table | None, dict[str, str]]:
    """The gathered table and each video's key in it (None and {} when there is none or it is unreadable)."""
    path = all_file(ws)
    if not path.exists():
        return None, {}
    try:
        table = pq.read_table(path)
        keys = json.loads((table.schema.metadata or {}).get(b"keys", b"{}"))
        return table.replace_schema_metadata({}).cast(SCHEMA), keys
    except (OSError, ValueError, pa.ArrowException):
        return None, {}  # a cache: rebuilt from the per-video files


@writes_workspace("affcurate subjects")
def describe(ws: Workspace, video_ids: list[str] | None = None, spec: ExecutorSpec | None = None,
             progress: Progress | None = None) -> pd.DataFrame:
    """Descriptors of every ingested video's subject (``ws.settings.subjects.frames`` frames each), on the
    executor; one summary row per video (video_id, status ok / no_face / error, n_descriptors, skipped, seconds,
    error)."""
    ids = ws.video_ids() if video_ids is None else list(video_ids)
    frames = ws.settings.subjects.frames
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    old, old_keys = _read_all(ws)
    # a run over some videos keeps the others' descriptors; a run over all drops those of videos now gone
    keys = {} if video_ids is None else {v: k for v, k in old_keys.items() if v not in set(ids)}
    rows, parts = [], {}
    for res in map_items(describe_item, [(str(ws.root), vid, frames) for vid in ids], spec, STAGE,
                         progress or current_progress()):
        vid = res.item[1]
        if res.error:
            rows.append({"video_id": vid, "status": "error", "error": res.error})
            continue
        v = res.value
        rows.append({"video_id": vid, "status": v["status"], "n_descriptors": v.get("n_descriptors"),
                     "skipped": v["skipped"], "seconds": v.get("seconds"), "error": None})
        keys[vid] = v["key"]
        if "table" in v:
            parts[vid] = v["table"]
        elif old is None or old_keys.get(vid) != v["key"]:  # done before, not in the gathered table: its file
            parts[vid] = pq.read_table(video_file(ws, vid)).replace_schema_metadata({}).cast(SCHEMA)
    if old is None or keys != old_keys:
        keep = sorted(set(keys) - set(parts))
        kept = [old.filter(pc.is_in(old.column("video_id"), pa.array(keep, pa.string())))] if old is not None and keep else []
        gathered = pa.concat_tables([*kept, *parts.values()]) if kept or parts else SCHEMA.empty_table()
        gathered = gathered.take(pc.sort_indices(gathered, [("video_id", "ascending"), ("frame", "ascending")]))
        _write(gathered, all_file(ws), {b"keys": json.dumps(keys, sort_keys=True).encode()})
    order = {v: i for i, v in enumerate(ids)}
    summary = pd.DataFrame(rows, columns=list(SUMMARY))
    return summary.sort_values("video_id", key=lambda s: s.map(order)).reset_index(drop=True)


def read_descriptors(ws: Workspace) -> pd.DataFrame:
    """Every stored descriptor: video_id, frame, descriptor (128 float32 array), pose, sharpness, aligned_by."""
    table, _ = _read_all(ws)
    if table is None:
        raise AffcurateError(f"{all_file(ws)} is missing: run `affcurate subjects {ws.root}` first")
    df = table.to_pandas()
    df["descriptor"] = [np.asarray(d, np.float32) for d in df["descriptor"]]
    return df
