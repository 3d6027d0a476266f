"""The workspace as training data: aligned crops streamed from HDF5, their labels with a per-task mask (so
tasks can be trained together on incompletely labelled frames), and the split of each frame. The frames are
those :func:`affcurate.exports.frames.frame_index` finds (as for every export), and the trainer's datasets are
:class:`affcurate.torchdata.WorkspaceDataset` (the one users load), with the trainer's own item keys."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from affcurate.errors import AffcurateError
from affcurate.exports.frames import frame_index
from affcurate.labels.model import TASKS
from affcurate.labels.table import LabelTable
from affcurate.torchdata import WorkspaceDataset, label_arrays
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
        a = label_arrays(labels, TASKS)
        return cls(keys.reset_index(drop=True), list(labels.aus), labels.n_classes, a["au"], a["au_mask"],
                   a["expr"], a["va"], a["va_mask"])

    def subset(self, rows: np.ndarray) -> Index:
        return Index(self.table.iloc[rows].reset_index(drop=True), self.aus, self.n_expr, self.au[rows],
                     self.au_mask[rows], self.expr[rows], self.va[rows], self.va_mask[rows])

    def __len__(self) -> int:
        return len(self.table)


def split_names(splits: pd.DataFrame) -> pd.Series:
    """video_id → train/val/test of a split table; K folds become test = fold 0, val = fold 1, train = the rest
    (one run; see :func:`fold_parts` for cross-validation)."""
    s = splits.set_index("video_id")
    if "split" in s.columns and s["split"].notna().all():
        return s["split"].astype(str)
    return pd.Series(_fold_split(s["fold"].astype(int).to_numpy()), index=s.index)


def _fold_split(folds: np.ndarray) -> np.ndarray:
    return np.where(folds == 0, "test", np.where(folds == 1, "val", "train")).astype(object)


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
    """Every merged frame with a crop and a split (labelled or not: the masks say), videos in the order merge
    wrote them and crops in order; raises a clear error naming the command to run first."""
    labels = LabelTable.read(ws)
    if len(labels) == 0:
        raise AffcurateError(f"{ws.labels_path} has no frames")
    frames = frame_index(ws, labels)
    keys = frames.keys
    rank = {v: i for i, v in enumerate(labels.video_ids)}
    order = np.lexsort((keys["crop"].to_numpy(), keys["video_id"].map(rank).to_numpy()))
    frames = frames.select(order)
    keys = frames.keys[["video_id", "crop", "frame", "split", "fold"]].copy()
    folded = (keys["fold"] >= 0) & keys["split"].str.startswith("fold")  # a K-fold table: one run's parts
    keys["split"] = np.where(folded, _fold_split(keys["fold"].to_numpy()), keys["split"].astype(str))
    return Index.from_labels(keys, frames.labels)


class CropDataset(WorkspaceDataset):
    """The :class:`WorkspaceDataset` of an :class:`Index`'s rows, with the trainer's item keys (``x`` and the
    label arrays). With ``window`` > 1, each item is the ``window`` consecutive crops ending at that frame
    (repeating the first when the video starts later). ``va_weight`` (one per row) is each item's weight of the
    VA loss. ``size`` 0: crops as stored."""

    def __init__(self, ws: Workspace, index: Index, size: int = 64, window: int = 1,
                 va_weight: np.ndarray | None = None):
        self.index, self.aus, self.tasks = index, list(index.aus), TASKS
        arrays = {"au": index.au, "au_mask": index.au_mask, "expr": index.expr, "va": index.va,
                  "va_mask": index.va_mask}
        self._open(ws, index.table, arrays, size or None, torch.float32, window, None)
        self.va_weight = (np.ones(len(index), np.float32) if va_weight is None
                          else np.asarray(va_weight, np.float32))
        self.mirrored: CropDataset | None = None

    def inputs(self, vid: str, crops: list[int]) -> torch.Tensor:
        """The model's input for ``crops`` of ``vid``: (len, 3, size, size) floats in [0, 1]."""
        arr = np.stack([self.crop_image(vid, j) for j in crops])
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
