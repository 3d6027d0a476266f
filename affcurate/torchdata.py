"""A ``torch.utils.data.Dataset`` over a workspace's aligned crops and merged labels, for one split::

    from torch.utils.data import DataLoader
    from affcurate.torchdata import WorkspaceDataset

    train = WorkspaceDataset("mydata", split="train", tasks=("au", "va"))
    for batch in DataLoader(train, batch_size=64, shuffle=True, num_workers=4):
        batch["image"]     # (B, 3, H, W) float32 in [0, 1] (uint8 0-255 with image_dtype=torch.uint8)
        batch["au"]        # (B, A) float32 0/1, 0 where not labelled; batch["au_mask"] (B, A) bool
        batch["va"]        # (B, 2) float32 valence, arousal, 0 where not labelled; batch["va_mask"] (B, 2) bool

An item holds ``image``, ``row`` (its row in ``dataset.keys``: video_id, frame, crop, split, subject, fold) and,
per task asked: ``au`` and ``au_mask`` (AUs in the order of ``dataset.aus``), ``expr`` (int64 class index, -1
where not labelled) and ``expr_mask``, ``va`` and ``va_mask``. The frames are those labelled for at least one of
the tasks, with a crop and in the split (``split=None``: every split; a list: those). Crops are read from
``crops/<id>.h5`` when asked (each worker opens its own files), resized to ``size`` if given; ``window`` > 1 gives
the ``window`` crops ending at the frame, (window, 3, H, W), repeating the video's first crop before it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from affcurate.errors import AffcurateError
from affcurate.exports.frames import Frames, frame_index
from affcurate.faces.crops import CropReader
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


class WorkspaceDataset(Dataset):
    """The labelled crops of a workspace's ``split`` for ``tasks`` (default: every task labels.parquet holds)."""

    def __init__(self, ws: Workspace | str | Path, split: str | Sequence[str] | None = "train",
                 tasks: Sequence[str] | None = None, size: int | None = None,
                 image_dtype: torch.dtype = torch.float32, window: int = 1,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        ws = ws if isinstance(ws, Workspace) else Workspace.open(ws)
        if image_dtype not in (torch.float32, torch.uint8):
            raise AffcurateError(f"image_dtype {image_dtype} is not supported, expected torch.float32 or torch.uint8")
        if window < 1 or (size is not None and size < 1):
            raise AffcurateError(f"window {window} and size {size} must be positive")
        labels = LabelTable.read(ws)
        self.tasks = tuple(labels.tasks if tasks is None else tasks)
        self.frames: Frames = frame_index(ws, labels, split, self.tasks)
        lab = self.frames.labels
        self.aus = list(lab.aus)
        self._open(ws, self.frames.keys, label_arrays(lab, self.tasks), size, image_dtype, window, transform)

    def _open(self, ws: Workspace, keys: pd.DataFrame, arrays: dict[str, np.ndarray], size: int | None,
              image_dtype: torch.dtype, window: int, transform: Callable[[torch.Tensor], torch.Tensor] | None) -> None:
        """Items are the rows of ``keys`` (video_id, crop, …) with ``arrays`` row for row (the trainer's own
        index comes in here too: its datasets are this class)."""
        self.ws, self.size, self.image_dtype, self.window, self.transform = ws, size, image_dtype, window, transform
        self.expressions = list(ws.settings.labels.expressions)
        self._keys, self._arrays = keys, arrays
        self._vid = keys["video_id"].astype(str).to_numpy()
        self._crop = keys["crop"].to_numpy(np.int64)
        self._crops = CropReader(ws, size)

    @property
    def keys(self) -> pd.DataFrame:
        """video_id, frame, crop (its row in crops/<id>.h5), split, subject and fold (-1: none) of each item."""
        return self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def crop_image(self, vid: str, crop: int) -> np.ndarray:
        """Row ``crop`` of ``crops/<vid>.h5``: (H, W, 3) uint8 RGB, resized to ``size`` when given."""
        return self._crops.crop(vid, crop)

    def image(self, i: int) -> torch.Tensor:
        """Item ``i``'s picture: (3, H, W), or (window, 3, H, W)."""
        vid, crop = self._vid[i], int(self._crop[i])
        if self.window > 1:
            arr = np.stack([self.crop_image(vid, max(0, crop - k)) for k in range(self.window - 1, -1, -1)])
            x = torch.from_numpy(arr).permute(0, 3, 1, 2)
        else:
            x = torch.from_numpy(np.ascontiguousarray(self.crop_image(vid, crop))).permute(2, 0, 1)
        x = x.contiguous() if self.image_dtype == torch.uint8 else x.float().div_(255.0)
        return self.transform(x) if self.transform is not None else x

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(f"item {i} of a dataset of {len(self)}")
        item = {"image": self.image(i), "row": torch.tensor(i, dtype=torch.int64)}
        for name, values in self._arrays.items():
            item[name] = torch.from_numpy(values[i]) if values.ndim > 1 else torch.tensor(values[i])
        return item

    def close(self) -> None:
        self._crops.close()


def label_arrays(lab: LabelTable, tasks: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The label arrays as losses want them: "not labelled" is False in the mask (0 in the value, -1 for the
    expression class)."""
    out: dict[str, np.ndarray] = {}
    if "au" in tasks:
        mask = lab.labelled("au")
        out["au"], out["au_mask"] = np.where(mask, lab.au_presence(), 0).astype(np.float32), mask
    if "expr" in tasks:
        mask = lab.labelled("expr")[:, 0]
        out["expr"], out["expr_mask"] = np.where(mask, lab.expr(), -1).astype(np.int64), mask
    if "va" in tasks:
        mask = lab.labelled("va")
        out["va"], out["va_mask"] = np.where(mask, lab.va(), 0).astype(np.float32), mask
    return out
