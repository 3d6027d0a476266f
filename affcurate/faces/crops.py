"""Crop storage: every face's aligned crop in a working file while the subject is unknown, then the subject's
crops, one per frame in frame order, in ``crops/<id>.h5`` (and, when asked, as JPEG files)."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np

from affcurate import io
from affcurate.faces.table import FaceTracks
from affcurate.settings import FacesSettings
from affcurate.workspace import Workspace


class CropSink:
    """Aligned crops of every face row, streamed in row order to a working HDF5 file beside the final one."""

    def __init__(self, path: Path, size: int):
        self.path = path
        self.h5 = h5py.File(path, "w")
        self.data = self.h5.create_dataset("crops", shape=(0, size, size, 3), maxshape=(None, size, size, 3),
                                           dtype=np.uint8, chunks=(16, size, size, 3), compression="lzf")
        self.buf: list[np.ndarray] = []
        self.n = 0

    def add(self, crop: np.ndarray) -> None:
        self.buf.append(crop)
        if len(self.buf) >= 64:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.data.resize(self.n + len(self.buf), axis=0)
            self.data[self.n:] = np.stack(self.buf)
            self.n += len(self.buf)
            self.buf = []

    def close(self) -> None:
        self.flush()
        self.h5.close()


class CropReader:
    """The subject's aligned crops of a workspace's videos, one at a time (resized to ``size`` when given): each
    ``crops/<id>.h5`` is opened once per process, and a pickled reader (a data loader's worker) opens its own."""

    def __init__(self, ws: Workspace, size: int | None = None):
        self.ws, self.size = ws, size
        self._files: dict[str, h5py.File] = {}

    def crop(self, video_id: str, row: int) -> np.ndarray:
        f = self._files.get(video_id)
        if f is None:
            f = self._files[video_id] = h5py.File(self.ws.crops_path(video_id), "r")
        img = f["crops"][row]
        if self.size is not None and img.shape[:2] != (self.size, self.size):
            img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return img

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_files": {}}  # HDF5 handles do not travel to another process


def write_subject_crops(ws: Workspace, tracks: FaceTracks, crop_rows: np.ndarray, all_crops: Path,
                        settings: FacesSettings) -> int:
    """Copy the subject's crops from ``all_crops`` (where row ``crop_rows[i]`` holds the crop of face ``i`` of
    ``tracks``) into ``crops/<id>.h5`` atomically; return how many there are."""
    vid, size = tracks.video_id, settings.crop_size
    subject = tracks.target_rows()
    rows, frames = crop_rows[subject], tracks.frame[subject]
    jpeg_dir = ws.root / "cropped_aligned" / vid if settings.export_jpeg else None
    with io.atomic_path(ws.crops_path(vid), suffix=".h5") as tmp, h5py.File(all_crops, "r") as src:
        with h5py.File(tmp, "w") as h5:
            data = h5.create_dataset("crops", shape=(len(rows), size, size, 3), maxshape=(None, size, size, 3),
                                     dtype=np.uint8, chunks=(1, size, size, 3), compression="lzf")
            h5.create_dataset("frames", data=frames.astype(np.int64))
            h5.attrs.update({"video_id": vid, "size": size, "align": settings.align})
            for start in range(0, len(rows), 256):
                part = rows[start:start + 256]
                back = np.argsort(part)
                block = src["crops"][part[back]]  # HDF5 wants increasing indices
                data[start:start + len(part)] = block[np.argsort(back)]
                if jpeg_dir is not None:
                    for crop, f in zip(data[start:start + len(part)], frames[start:start + len(part)], strict=True):
                        _, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
                        io.write_bytes(jpeg_dir / f"{int(f) + 1:05d}.jpg", buf.tobytes())
    return len(rows)
