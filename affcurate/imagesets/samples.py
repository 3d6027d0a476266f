"""Images as samples of their own for the split and everything that reads it.

A shard holds unrelated images, so a split assigns images, not shards: for the split's search (and for adopting
a given split) each image of a shard becomes a video of its own, named by its image id, with its own subject
(unless ``images.parquet`` names one; identical files share one). ``splits.parquet`` then has one row per image
of an image set, ``video_id`` its shard and ``frame`` its index (with ``image_id``), beside the one row per
video of the videos (``frame`` null). :func:`part_of` reads a part for any frame of either kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate.imagesets.table import read_images
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


def per_image(ws: Workspace, table: LabelTable, manifest: pd.DataFrame
              ) -> tuple[LabelTable, pd.DataFrame, pd.DataFrame | None]:
    """``table`` and ``manifest`` with every image of a labelled shard as a video of its own (its image id, its
    subject, path, label and metadata), and the key back (image id → shard, index); unchanged (key None) when no
    shard is labelled."""
    if not ws.images_path.exists():
        return table, manifest, None
    images = read_images(ws)
    rows = table.frame
    shards = set(images["shard"].astype(str))
    on_shard = rows["video_id"].astype(str).isin(shards).to_numpy()
    if not on_shard.any():
        return table, manifest, None
    ids = _ids(images, rows, on_shard)
    renamed = LabelTable(rows.assign(video_id=pd.array(ids, dtype="string")), table.aus, table.n_classes,
                         table.meta)
    both = _with_images(images, manifest)
    back = images.set_index("image_id")[["shard", "index"]]
    return renamed, both, back


def _ids(images: pd.DataFrame, rows: pd.DataFrame, on_shard: np.ndarray) -> np.ndarray:
    key = images.set_index(["shard", "index"])["image_id"].astype(str)
    pairs = pd.MultiIndex.from_arrays([rows["video_id"].astype(str)[on_shard], rows["frame"][on_shard].astype(int)])
    ids = rows["video_id"].astype(object).to_numpy().copy()
    ids[on_shard] = key.reindex(pairs).to_numpy()
    return ids


def _with_images(images: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest with the shards' rows replaced by one row per image."""
    shards = set(images["shard"].astype(str))
    # the same bytes under two names are one picture of one person: never on two sides of a split
    subject = images["subject"].astype(object)
    first = images.groupby("sha256")["image_id"].transform("first")
    same = images["sha256"].notna() & images["sha256"].duplicated(keep=False) & subject.isna()
    subject = subject.where(~same, "image:" + first.astype(str))
    own = pd.DataFrame({"video_id": images["image_id"], "path": images["path"], "kind": "image",
                        "subject": subject, "label": images["label"], "source": images["source"],
                        "status": images["status"].where(images["status"] != "no_face", "ok"),
                        "meta": images["meta"]})
    videos = manifest[~manifest["video_id"].astype(str).isin(shards)]
    both = pd.concat([videos.astype(object), own.astype(object)], ignore_index=True)
    for c in ("video_id", "path", "subject", "label", "source", "status", "meta", "kind"):
        if c in both.columns:
            both[c] = both[c].astype("string")
    return both


def sample_manifest(ws: Workspace, manifest: pd.DataFrame) -> pd.DataFrame:
    """``manifest`` with a row per image of the image sets instead of a row per shard (ids: image ids)."""
    return _with_images(read_images(ws), manifest) if ws.images_path.exists() else manifest


def sample_ids(ws: Workspace, keys: pd.DataFrame) -> pd.Series:
    """Per row of ``keys`` (``video_id``, ``frame``): the image id on a shard, else the video id."""
    if not ws.images_path.exists():
        return keys["video_id"].astype(str)
    images = read_images(ws)
    on_shard = keys["video_id"].astype(str).isin(set(images["shard"].astype(str))).to_numpy()
    return pd.Series(_ids(images, keys, on_shard), index=keys.index).astype(str)


def to_rows(assignment: pd.DataFrame, back: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of ``splits.parquet`` from the split of :func:`per_image`: an image's row names its shard
    (``video_id``), ``frame`` and ``image_id``; a video's row has no frame."""
    if back is None:
        return assignment
    out = assignment.copy()
    ids = out["video_id"].astype(str)
    is_image = ids.isin(back.index).to_numpy()
    out["image_id"] = pd.array(np.where(is_image, ids, None), dtype="string")
    out["frame"] = pd.array(np.where(is_image, ids.map(back["index"]), None), dtype="Int64")
    out.loc[is_image, "video_id"] = ids[is_image].map(back["shard"]).to_numpy()
    cols = ["video_id", "frame", "image_id"]
    return out[cols + [c for c in out.columns if c not in cols]].reset_index(drop=True)


def part_of(splits: pd.DataFrame, keys: pd.DataFrame, column: str) -> pd.Series:
    """``column`` of ``splits`` for every row of ``keys`` (``video_id``, ``frame``): by video and frame for the
    images of an image set, by video for videos; missing where the split says nothing."""
    vids = keys["video_id"].astype(str).to_numpy()
    has_frame = "frame" in splits.columns and splits["frame"].notna().any()
    if not has_frame:
        return pd.Series(pd.Series(splits[column].to_numpy(), index=splits["video_id"].astype(str))
                         .reindex(vids).to_numpy(), index=keys.index)
    per_frame = splits[splits["frame"].notna()]
    per_video = splits[splits["frame"].isna()]
    by_video = pd.Series(per_video[column].to_numpy(), index=per_video["video_id"].astype(str))
    out = pd.Series(by_video.reindex(vids).to_numpy(), index=keys.index, dtype=object)
    idx = pd.MultiIndex.from_arrays([per_frame["video_id"].astype(str), per_frame["frame"].astype(int)])
    by_frame = pd.Series(per_frame[column].to_numpy(), index=idx)
    pairs = pd.MultiIndex.from_arrays([vids, keys["frame"].astype(int).to_numpy()])
    hit = by_frame.reindex(pairs).to_numpy()
    on_frame = pd.Series(vids).isin(set(per_frame["video_id"].astype(str))).to_numpy()
    out[on_frame] = hit[on_frame]
    return out.infer_objects()
