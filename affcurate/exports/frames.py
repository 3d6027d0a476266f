"""The frames a training export holds: each labelled frame that has an aligned crop and a split, with the row of
its crop in ``crops/<id>.h5``, its subject and split, and its labels as a :class:`LabelTable` row for row.

Splits are the ``split`` column of ``splits.parquet``; a table of K folds instead gives the splits ``fold0`` …
``fold<K-1>``. Every crops file is opened and checked here, so a writer that starts has all it needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, InputError, StageMissingError
from affcurate.labels.model import TASKS
from affcurate.labels.table import LabelTable
from affcurate.names import check_name
from affcurate.workspace import Workspace

KEYS = ["video_id", "frame", "crop", "split", "subject", "fold"]
PARTS = ("train", "val", "test")
"""The usual splits, in this order; any other follows in the order of its name."""
# the Hugging Face split names: words joined by dots
_SPLIT = re.compile(r"\w+(\.\w+)*", re.ASCII)


@dataclass(frozen=True)
class Frames:
    """``keys``: video_id, frame, crop (its row in the crops file), split, subject, fold (-1: none), in split,
    video and frame order; ``labels`` holds their labels row for row; ``shapes`` each video's crop H, W."""

    keys: pd.DataFrame
    labels: LabelTable
    shapes: dict[str, tuple[int, int]]
    licences: dict[str, str] = field(default_factory=dict)
    """video id → the licence the ingest list gave it (its ``licence`` or ``license`` column)."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Labelled frames not in the export, by reason."""

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def splits(self) -> list[str]:
        return list(pd.unique(self.keys["split"]))

    @property
    def has_folds(self) -> bool:
        return bool((self.keys["fold"] >= 0).any())

    def select(self, rows: np.ndarray) -> Frames:
        """These rows (positions, in this order)."""
        lab = self.labels
        return Frames(self.keys.iloc[rows].reset_index(drop=True),
                      LabelTable(lab.frame.iloc[rows].reset_index(drop=True), lab.aus, lab.n_classes, lab.meta),
                      self.shapes, self.licences, self.left_out)


def read_splits(ws: Workspace) -> pd.DataFrame:
    """video_id, split, subject and fold (-1: none) of every video the split table places."""
    if not ws.splits_path.exists():
        raise StageMissingError(str(ws.splits_path), f"affcurate split {ws.root}")
    sp = io.read_parquet(ws.splits_path)
    if "video_id" not in sp.columns:
        raise InputError(ws.splits_path, "no video_id column, expected the table `affcurate split` writes")
    fold = pd.to_numeric(sp["fold"], errors="coerce") if "fold" in sp.columns else pd.Series(np.nan, sp.index)
    if "split" in sp.columns and sp["split"].notna().any():
        split = sp["split"].astype("string")
    elif fold.notna().any():
        split = ("fold" + fold.astype("Int64").astype("string")).astype("string")
    else:
        raise InputError(ws.splits_path, "neither a split nor a fold is given, expected train/val/test or folds")
    out = pd.DataFrame({"video_id": sp["video_id"].astype(str),
                        # an image of an image set has a row of its own: its shard and frame
                        "frame": (pd.to_numeric(sp["frame"]).astype("Int64") if "frame" in sp.columns
                                  else pd.array([pd.NA] * len(sp), dtype="Int64")),
                        "split": split,
                        "subject": sp["subject"].astype("string") if "subject" in sp.columns else pd.NA,
                        "fold": fold.fillna(-1).astype(np.int64)})
    if ws.has_manifest():  # a subject the split table does not name is the manifest's
        m = ws.manifest(with_faces=False).set_index("video_id")["subject"].astype("string")
        out["subject"] = out["subject"].fillna(out["video_id"].map(m))
    out = out[out["split"].notna()].reset_index(drop=True)
    for name in pd.unique(out["split"]):
        check_name(str(name), "split name", str(ws.splits_path))
        if not _SPLIT.fullmatch(str(name)):
            raise InputError(ws.splits_path, f"split {name!r} is no Hugging Face split name, expected letters, "
                                             "digits and _ (train, val, test)")
    return out


def _crop_frames(ws: Workspace, vid: str) -> tuple[np.ndarray, tuple[int, int]]:
    path = ws.crops_path(vid)
    if not path.exists():
        raise StageMissingError(f"crops of {vid} ({path})", f"affcurate faces run {ws.root}")
    try:
        with h5py.File(path, "r") as h5:
            crops, frames = h5.get("crops"), h5.get("frames")
            if crops is None or frames is None:
                raise InputError(path, "no 'crops' or 'frames' dataset, expected the crops file `affcurate faces` "
                                       "writes")
            if crops.ndim != 4 or crops.shape[3] != 3 or crops.dtype != np.uint8 or len(frames) != len(crops):
                raise InputError(path, f"crops {crops.shape} {crops.dtype} for {len(frames)} frames, expected "
                                       "uint8 N×H×W×3 and one frame number per crop")
            return frames[:].astype(np.int64), (int(crops.shape[1]), int(crops.shape[2]))
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None


def _licences(ws: Workspace, videos: Sequence[str]) -> dict[str, str]:
    if not ws.has_manifest():
        return {}
    m = ws.manifest(with_faces=False)
    wanted, out = set(videos), {}
    for vid, meta in zip(m["video_id"], m["meta"] if "meta" in m.columns else [None] * len(m), strict=True):
        d = json.loads(meta) if isinstance(meta, str) and meta else {}
        given = d.get("licence") or d.get("license")
        if given and vid in wanted:
            out[str(vid)] = str(given)
    return out


def frame_index(ws: Workspace, labels: LabelTable | None = None, split: str | Sequence[str] | None = None,
                tasks: Sequence[str] | None = None) -> Frames:
    """The frames of ``split`` (a name, several, or None: all) with a crop, a split and (``tasks`` given) a
    label of at least one of those tasks."""
    labels = LabelTable.read(ws) if labels is None else labels
    for t in tasks or ():
        if t not in TASKS:
            raise AffcurateError(f"task {t!r} is unknown, expected one of {', '.join(TASKS)}")
        if not labels.has_task(t):
            raise AffcurateError(f"{ws.labels_path} has no {t} labels (it has {', '.join(labels.tasks) or 'none'})")
    splits = read_splits(ws)
    wanted = None if split is None else [split] if isinstance(split, str) else list(split)
    if wanted is not None:
        known = sorted(pd.unique(splits["split"]).tolist())
        for w in wanted:
            if w not in known:
                raise AffcurateError(f"split {w!r} is not in {ws.splits_path}, expected one of {', '.join(known)}")
    lab = pd.DataFrame({"video_id": labels.frame["video_id"].astype(str), "frame": labels.frame["frame"],
                        "_row": np.arange(len(labels))})
    by_frame = splits["frame"].notna()
    placed = pd.concat([lab.merge(splits[~by_frame].drop(columns="frame"), on="video_id", how="inner"),
                        lab.merge(splits[by_frame].astype({"frame": np.int64}), on=["video_id", "frame"],
                                  how="inner")], ignore_index=True)
    left_out = {"without a split": len(lab) - len(placed)}
    if wanted is not None:
        placed = placed[placed["split"].isin(wanted)]
    shapes, crops = {}, []
    for vid in pd.unique(placed["video_id"]):
        frames, shapes[str(vid)] = _crop_frames(ws, str(vid))
        crops.append(pd.DataFrame({"video_id": vid, "frame": frames, "crop": np.arange(len(frames))}))
    joined = placed.merge(pd.concat(crops) if crops else pd.DataFrame(columns=["video_id", "frame", "crop"]),
                          on=["video_id", "frame"], how="inner")
    left_out["without a crop"] = len(placed) - len(joined)
    rows = joined["_row"].to_numpy(np.int64)
    if tasks:
        any_label = np.zeros(len(labels), bool)
        for t in tasks:
            any_label |= labels.labelled(t).any(axis=1)
        keep = any_label[rows]
        left_out["without a label of " + ", ".join(tasks)] = int((~keep).sum())
        joined, rows = joined[keep], rows[keep]
    names = joined["split"].astype(str)
    rank = names.map(lambda n: PARTS.index(n) if n in PARTS else len(PARTS)).to_numpy()
    order = np.lexsort((joined["frame"].to_numpy(), joined["video_id"].astype(str).to_numpy(), names.to_numpy(),
                        rank))
    joined, rows = joined.iloc[order].reset_index(drop=True), rows[order]
    keys = joined[KEYS].copy()
    keys["crop"] = keys["crop"].astype(np.int64)
    table = LabelTable(labels.frame.iloc[rows].reset_index(drop=True), labels.aus, labels.n_classes, labels.meta)
    return Frames(keys, table, shapes, _licences(ws, list(shapes)), {k: v for k, v in left_out.items() if v})
