"""``images.parquet``: one row per still image of the workspace's image sets, and the shards they are stored in.

An image set is stored as shards of at most ``shard_size`` images. To every later stage a shard is a video whose
frame ``i`` is image ``i`` of the shard: it has a frame map, a faces table and a crop file in the layout of a
video's. This table is where each image keeps its own identity: its source path, shard and index, its subject,
label and metadata, and its own ``status`` (pending, ok, no_face, error) with a one-line ``error``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.workspace import Workspace

COLUMNS: dict[str, str] = {
    "image_id": "string", "set": "string", "shard": "string", "index": "Int64", "path": "string",
    "size": "Int64", "sha256": "string", "width": "Int64", "height": "Int64", "subject": "string",
    "label": "string", "source": "string", "meta": "string", "status": "string", "error": "string",
    "n_faces": "Int64",
}
STATUSES = ("pending", "ok", "no_face", "error")
RESULT_COLUMNS = ("size", "sha256", "width", "height", "status", "error", "n_faces")
"""What processing a shard fills in for each of its images."""
STAGE = "imageset"
"""The done-ledger's stage name: one entry per shard, written after the shard's files."""


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The columns of the contract, in order and with their dtypes (extra columns are dropped)."""
    df = df.copy()
    for c, dtype in COLUMNS.items():
        if c not in df.columns:
            df[c] = None
        if dtype == "string":  # object first: an all-missing column read back may carry a null type
            df[c] = df[c].astype(object).astype("string")
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(dtype)
    return df[list(COLUMNS)].reset_index(drop=True)


def empty() -> pd.DataFrame:
    return typed(pd.DataFrame(columns=list(COLUMNS)))


def read_images(ws: Workspace) -> pd.DataFrame:
    """Every image of the workspace's image sets (empty when there are none)."""
    path = ws.images_path
    return typed(io.read_parquet(path)) if path.exists() else empty()


def write_images(ws: Workspace, df: pd.DataFrame) -> None:
    io.write_parquet(typed(df), ws.images_path)


def with_shard_results(images: pd.DataFrame, ws: Workspace, shards: list[str] | None = None,
                       results: dict[str, dict[str, list[Any]]] | None = None) -> pd.DataFrame:
    """``images`` with each image's outcome taken from its shard's done-ledger (the truth after a kill:
    ``images.parquet`` may have been written before the last shards finished), or from ``results`` (shard →
    the outcome lists a shard's processing returns)."""
    positions = images.groupby("shard", sort=False).indices
    index = images["index"].to_numpy(dtype=np.int64, na_value=-1)
    columns = {c: images[c].astype(object).to_numpy(copy=True) for c in RESULT_COLUMNS}
    changed = False
    for shard in shards if shards is not None else list(positions):
        got = (results or {}).get(shard)
        if got is None:
            entry = ws.ledger(STAGE, str(shard))
            got = entry.get("images") if entry else None
        if not got or shard not in positions:
            continue
        pos = positions[shard]
        at = dict(zip(index[pos].tolist(), pos.tolist(), strict=True))
        hit = [(at[i], k) for k, i in enumerate(got["index"]) if i in at]
        rows, order = np.array([h[0] for h in hit], np.int64), [h[1] for h in hit]
        for col in RESULT_COLUMNS:
            values = got.get(col)
            if values is not None and len(rows):
                columns[col][rows] = np.array([values[k] for k in order], dtype=object)
                changed = True
    if not changed:
        return images
    out = images.copy()
    for col, values in columns.items():
        out[col] = values
    return typed(out)


def shard_rows(ws: Workspace, images: pd.DataFrame | None = None) -> pd.DataFrame:
    """One manifest-shaped row per shard (``kind`` imageset): the video that later stages see. ``status`` is ok
    once the shard's files are written (whatever its images' own statuses), pending before, error when the shard
    itself could not be written (every image then says why); ``faces_status`` is ok when any image has a face."""
    images = read_images(ws) if images is None else images
    if images.empty:
        return pd.DataFrame(columns=["video_id", "kind"])
    fps = float(ws.settings.ingest.fps)
    rows: list[dict[str, Any]] = []
    for shard, part in images.groupby("shard", sort=True):
        entry = ws.ledger(STAGE, str(shard))
        n = int(part["index"].max()) + 1
        done = entry is not None
        failed = not done and bool((part["status"] == "error").all())
        faces = int((part["status"] == "ok").sum())
        error = str(part["error"].dropna().iloc[0]) if failed and part["error"].notna().any() else None
        rows.append({
            "video_id": str(shard), "path": os.path.commonpath(part["path"].astype(str).tolist()),
            "kind": "imageset", "sha256": entry.get("key") if done else None,
            "status": "ok" if done else "error" if failed else "pending", "error": error,
            "avg_fps": fps, "real_fps": fps, "n_frames": n, "duration": n / fps, "out_frames": n, "vfr": False,
            "has_audio": False, "faces_status": ("ok" if faces else "no_face") if done else None,
            "faces_error": None, "image_set": str(part["set"].iloc[0]), "images": len(part),
        })
    return pd.DataFrame(rows)


def image_of(images: pd.DataFrame) -> dict[tuple[str, int], str]:
    """(shard, index) → image id."""
    return dict(zip(zip(images["shard"].astype(str), images["index"].astype(int), strict=True),
                    images["image_id"].astype(str), strict=True))


def image_counts(ws: Workspace) -> dict[str, Any]:
    """What ``affcurate status`` can say of the image sets: images in all and per status, shards written and in
    all, the images done per shard, and every failed image (image id and its one-line error), with the outcomes
    of finished shards."""
    images = with_shard_results(read_images(ws), ws) if ws.images_path.exists() else empty()
    shards = images["shard"].dropna().astype(str).unique()
    written = sum(ws.ledger(STAGE, s) is not None for s in shards)
    bad = images[images["status"] == "error"]
    done = images[images["status"].isin(["ok", "no_face"])]
    return {"images": len(images), **{k: int((images["status"] == k).sum()) for k in STATUSES},
            "shards": len(shards), "shards_done": int(written),
            "done_by_shard": {str(k): int(v) for k, v in done.groupby("shard").size().items()},
            "failed": [{"id": str(i), "error": str(e)} for i, e in zip(bad["image_id"], bad["error"], strict=True)]}
