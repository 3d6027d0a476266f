"""The workspace as training data: aligned crops streamed from HDF5, their labels with a per-task mask (so
tasks can be trained together on incompletely labelled frames), and the split of each frame. The labels are
read as the merged :class:`~affcurate.labels.table.LabelTable`."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from affcurate import io
from affcurate.errors import AffcurateError, StageMissingError
from affcurate.faces.crops import CropReader
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


@dataclass
class Index:
    """One row per usable crop: video, position in its HDF5 file, frame, split, fold (-1: none), and the label arrays as the
    tensors fed to torch want them: "not labelled" is a False in the masks (the value there is 0) and -1 for
    the expression class."""

    table: pd.DataFrame
    aus: list[str]
    n_expr: int
    au: np.ndarray          # (N, A) 0/1
    au_mask: np.ndarray     # (N, A) bool
    expr: np.ndarray        # (N,) int, -1 missing
    va: np.ndarray          # (N, 2)
    va_mask: np.ndarray     # (N, 2) bool

    @classmethod
    def from_labels(cls, keys: pd.DataFrame, labels: LabelTable) -> Index:
        """The arrays of ``labels`` (row for row with ``keys``: video_id, crop, frame, split)."""
        if len(keys) != len(labels):
            raise ValueError(f"Index: {len(keys)} rows of keys for {len(labels)} rows of labels")
        au_mask, has_expr, va_mask = labels.labelled("au"), labels.labelled("expr")[:, 0], labels.labelled("va")
        return cls(keys.reset_index(drop=True), list(labels.aus), labels.n_classes,
                   np.where(au_mask, labels.au_presence(), 0).astype(np.float32), au_mask,
                   np.where(has_expr, labels.expr(), -1).astype(np.int64),
                   np.where(va_mask, labels.va(), 0).astype(np.float32), va_mask)

    def subset(self, rows: np.ndarray) -> Index:
        return Index(self.table.iloc[rows].reset_index(drop=True), self.aus, self.n_expr, self.au[rows],
                     self.au_mask[rows], self.expr[rows], self.va[rows], self.va_mask[rows])

    def __len__(self) -> int:
        return len(self.table)


def split_names(splits: pd.DataFrame) -> pd.Series:
    """video_id → train/val/test; K folds become test = fold 0, val = fold 1, train = the rest (one run; see
    :func:`fold_parts` for cross-validation)."""
    s = splits.set_index("video_id")
    if "split" in s.columns and s["split"].notna().all():
        return s["split"].astype(str)
    folds = s["fold"].astype(int)
    return folds.map(lambda f: "test" if f == 0 else "val" if f == 1 else "train")


def fold_numbers(splits: pd.DataFrame) -> pd.Series:
    """video_id → fold (-1 when the split table has no folds)."""
    s = splits.set_index("video_id")
    if "fold" not in s.columns or s["fold"].isna().any():
        return pd.Series(-1, index=s.index, dtype=np.int64)
    return s["fold"].astype(np.int64)


PARTS = ("train", "val", "test")


def fold_parts(folds: np.ndarray, k: int, val: int | None) -> dict[str, np.ndarray]:
    """Rows of each part for fold ``k`` of cross-validation: test = fold ``k``, validation = fold ``val`` (the
    next fold; None: no validation), train = the other folds."""
    v = -2 if val is None else val  # -2 is no fold: nothing is validated
    return {"train": np.flatnonzero((folds != k) & (folds != v)), "val": np.flatnonzero(folds == v),
            "test": np.flatnonzero(folds == k)}


def split_parts(split: np.ndarray, validation: bool = True) -> dict[str, np.ndarray]:
    """Rows of each part of one run; without ``validation`` the validation split is trained on."""
    parts = {p: np.flatnonzero(split == p) for p in PARTS}
    if not validation:
        parts["train"] = np.flatnonzero((split == "train") | (split == "val"))
        parts["val"] = parts["val"][:0]
    return parts


def build_index(ws: Workspace) -> Index:
    """Join crops, labels and splits; raises a clear error naming the command to run first."""
    labels = LabelTable.read(ws)
    if not ws.splits_path.exists():
        raise StageMissingError(str(ws.splits_path), f"affcurate split {ws.root}")
    splits = io.read_parquet(ws.splits_path)
    split_of, fold_of = split_names(splits), fold_numbers(splits)
    rows = []
    for vid in labels.video_ids:
        path = ws.crops_path(vid)
        if not path.exists():
            raise StageMissingError(f"crops of {vid} ({path})", f"affcurate ingest {ws.root}")
        with h5py.File(path) as h5:
            frames = h5["frames"][:]
        rows.append(pd.DataFrame({"video_id": vid, "crop": np.arange(len(frames)), "frame": frames}))
    if not rows:
        raise AffcurateError(f"{ws.labels_path} has no frames")
    crops = pd.concat(rows, ignore_index=True)
    table = crops.merge(labels.frame, on=["video_id", "frame"], how="inner")
    table["split"] = table["video_id"].map(split_of)
    table = table[table["split"].notna()].reset_index(drop=True)
    table["fold"] = table["video_id"].map(fold_of).fillna(-1).astype(np.int64)
    kept = LabelTable(table, labels.aus, labels.n_classes, labels.meta)  # the labels of the usable crops
    return Index.from_labels(table[["video_id", "crop", "frame", "split", "fold"]], kept)


class CropDataset(Dataset):
    """Crops of an :class:`Index`, read from HDF5 on demand (nothing is held in memory but open files).
    With ``window`` > 1, each item is the ``window`` consecutive crops ending at that frame (repeating the
    first when the video starts later). ``va_weight`` (one per row) is each item's weight of the VA loss."""

    def __init__(self, ws: Workspace, index: Index, size: int = 64, window: int = 1,
                 va_weight: np.ndarray | None = None):
        self.ws = ws
        self.index = index
        self.size = size
        self.window = window
        self.va_weight = (np.ones(len(index), np.float32) if va_weight is None
                          else np.asarray(va_weight, np.float32))
        self._crops = CropReader(ws, size)
        self.mirrored: CropDataset | None = None
        t = index.table
        self._vid = t["video_id"].to_numpy()
        self._crop = t["crop"].to_numpy()

    def __len__(self) -> int:
        return len(self.index)

    def image(self, vid: str, crop: int) -> np.ndarray:
        return self._crops.crop(vid, crop)

    def inputs(self, vid: str, crops: list[int]) -> torch.Tensor:
        """The model's input for ``crops`` of ``vid``: (len, 3, size, size) floats in [0, 1]."""
        arr = np.stack([self.image(vid, j) for j in crops])
        return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)

    def _x(self, vid: str, crop: int) -> torch.Tensor:
        if self.window > 1:
            return self.inputs(vid, [max(0, crop - k) for k in range(self.window - 1, -1, -1)])
        return self.inputs(vid, [crop])[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        vid, crop = self._vid[i], int(self._crop[i])
        ix = self.index
        item = {"x": self._x(vid, crop), "au": torch.from_numpy(ix.au[i]), "au_mask": torch.from_numpy(ix.au_mask[i]),
                "expr": torch.tensor(ix.expr[i]), "va": torch.from_numpy(ix.va[i]),
                "va_mask": torch.from_numpy(ix.va_mask[i]), "va_weight": torch.tensor(self.va_weight[i])}
        if self.mirrored is not None:  # features of the mirrored crops (images are mirrored by the caller)
            item["x_mirror"] = self.mirrored._x(vid, crop)
        return item

    def close(self) -> None:
        self._crops.close()


class FeatureDataset(CropDataset):
    """A :class:`CropDataset` whose inputs are precomputed feature vectors, ``features[video]`` one row per crop
    of the video's HDF5 file (a frozen extractor's output): items are (dim,) or (window, dim)."""

    def __init__(self, ws: Workspace, index: Index, features: dict[str, np.ndarray], window: int = 1,
                 va_weight: np.ndarray | None = None, mirrored: dict[str, np.ndarray] | None = None):
        super().__init__(ws, index, 0, window, va_weight)
        self.features = features
        self.mirrored = None if mirrored is None else FeatureDataset(ws, index, mirrored, window, va_weight)

    def inputs(self, vid: str, crops: list[int]) -> torch.Tensor:
        return torch.from_numpy(self.features[vid][crops])
