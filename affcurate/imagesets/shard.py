"""One shard of an image set, end to end: decode its images, detect their faces in batches (or take the faces a
dataset gives), choose each image's subject, align it, and write the shard's files in a video's layout:

- ``frames/<shard>.parquet``: frame ``i`` is image ``i`` (``src_name`` its file name, one frame per image);
- ``faces/<shard>.parquet``: a :class:`FaceTracks` whose ``frame`` is the image's index; per image the subject is
  track 0 (``is_target``) and any other face is track 1, 2, … (tracks do not link images);
- ``crops/<shard>.h5``: the subject's aligned crop of every image with a face, with its index in ``frames``.

Each file is written atomically, then the shard's done-ledger entry with every image's outcome: a kill loses at
most the shard in progress, and a bad image is its own error row, never its shard's.
"""

from __future__ import annotations

import functools
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from affcurate import io
from affcurate.faces.align import aligned_crop
from affcurate.faces.detectors import CenterFace, Detector, shared_detector
from affcurate.faces.given import GivenFaces, five_points
from affcurate.faces.table import FaceTracks
from affcurate.faces.types import Detections
from affcurate.imagesets.decode import Decoded, batches
from affcurate.imagesets.detect import detect_images, subject_order
from affcurate.imagesets.table import STAGE
from affcurate.settings import FacesSettings
from affcurate.workspace import Workspace

BATCH = 16
"""Images per detector call."""


def _given(g: GivenFaces) -> Detections:
    """The one face a dataset gives for an image (pixels of the image), as a detection with the template's 5
    points; a face given by its landmarks alone gets their bounding box."""
    lm = g.landmarks[0] if g.landmarks.shape[1] else np.zeros((0, 2))
    box = np.asarray(g.boxes[0], np.float64)
    five = five_points(lm, box)
    if np.isnan(box).any():
        pts = lm if len(lm) else five
        box = np.array([*pts.min(0), *pts.max(0)])
    return Detections(box[None].astype(np.float32), np.ones(1, np.float32), five[None].astype(np.float32))


@functools.lru_cache(maxsize=4)
def _centerface(min_score: float, detect_size: int) -> Detector:
    return CenterFace(min_score, detect_size, threads=1)


def image_detector(s: FacesSettings) -> Detector:
    """The detector of a worker process: CenterFace on one thread per call (batches run side by side), another
    backend as the faces stage makes it."""
    if s.detector == "centerface":
        return _centerface(s.min_score, s.detect_size)
    return shared_detector(s.detector, s.min_score, s.detect_size)


def _faces_of(batch: list[Decoded], given: dict[int, GivenFaces], detector: Detector | None,
              s: FacesSettings) -> dict[int, Detections]:
    """The faces of a batch's decoded images: given ones as they are, the others detected in one call."""
    good = [d for d in batch if d.rgb is not None]
    found: dict[int, Detections] = {d.index: _given(given[d.index]) for d in good if d.index in given}
    todo = [d for d in good if d.index not in given]
    if todo and detector is not None:
        for d, faces in zip(todo, detect_images(detector, [d.rgb for d in todo], s.detect_size, s.min_face),
                            strict=True):
            found[d.index] = faces
    return found


class ShardWriter:
    """What a shard collects image by image, then writes."""

    def __init__(self, shard: str, n: int, settings: FacesSettings):
        self.shard, self.n, self.s = shard, n, settings
        self.rows: list[tuple[int, Detections, np.ndarray]] = []
        self.crops: list[np.ndarray] = []
        self.crop_frames: list[int] = []
        self.results: dict[str, list[Any]] = {k: [] for k in ("index", "size", "sha256", "width", "height",
                                                               "status", "error", "n_faces")}

    def add(self, img: Decoded, faces: Detections | None) -> None:
        r = self.results
        h, w = (img.rgb.shape[:2] if img.rgb is not None else (None, None))
        status = "error" if img.error else "ok" if faces is not None and len(faces) else "no_face"
        for k, v in (("index", img.index), ("size", img.size), ("sha256", img.sha256), ("width", w),
                     ("height", h), ("status", status), ("error", img.error),
                     ("n_faces", None if img.error else (len(faces) if faces is not None else 0))):
            r[k].append(v)
        if status != "ok":
            return
        assert faces is not None and img.rgb is not None
        order = subject_order(faces, int(w), int(h))
        faces = faces.select(order).with_tracks(np.arange(len(order)))
        self.rows.append((img.index, faces, np.ones(len(faces), bool)))
        self.crops.append(aligned_crop(img.rgb, faces.landmarks[0], self.s.crop_size, self.s.align))
        self.crop_frames.append(img.index)

    def write(self, ws: Workspace, names: dict[int, str], detector: str) -> int:
        """The shard's frame map, faces table and crops (each atomically); returns the number of crops."""
        fps = float(ws.settings.ingest.fps)
        idx = np.arange(self.n)
        frame_map = pd.DataFrame({"frame": idx, "time": idx / fps, "src_frame": idx, "src_time": idx / fps,
                                  "repeated": np.zeros(self.n, bool),
                                  "src_name": [Path(str(names.get(int(i)))).name for i in idx]})
        io.write_parquet(frame_map, ws.frames_path(self.shard), metadata={"video_id": self.shard, "fps": fps,
                                                                          "src_frames": self.n, "image_set": True})
        tracks = FaceTracks.from_detections(self.shard, self.rows, 5)
        subject = tracks.track_id == 0
        # each frame's image as a dataset names it (its folder and file name), for writers of per-image formats
        images = [names.get(int(i)) for i in idx]
        tracks = tracks.with_target(subject, video_id=self.shard, detector=detector, n_frames=self.n,
                                    target_track=0 if subject.any() else None, target_method="image",
                                    settings=self.s.__dict__, width=None, height=None, image_set=True,
                                    images=images)
        tracks.write(ws)
        size = self.s.crop_size
        with io.atomic_path(ws.crops_path(self.shard), suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
            data = np.stack(self.crops) if self.crops else np.zeros((0, size, size, 3), np.uint8)
            h5.create_dataset("crops", data=data, maxshape=(None, size, size, 3), dtype=np.uint8,
                              chunks=(1, size, size, 3), compression="lzf")
            h5.create_dataset("frames", data=np.asarray(self.crop_frames, np.int64))
            h5.attrs.update({"video_id": self.shard, "size": size, "align": self.s.align, "image_set": True})
        return len(self.crops)


def process_shard(item: dict[str, Any], on_images: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Process one shard (top-level and picklable: it runs in worker processes) unless its ledger says it is
    done with the same images and settings. ``item``: ws_root, shard, key, images ((index, path) pairs),
    n (frames of the shard), given (index → GivenFaces), workers (processes running shards at once).
    ``on_images(n)`` hears of every ``n`` images done."""
    ws = Workspace(Path(item["ws_root"]))
    shard, key = item["shard"], item["key"]
    entry = ws.ledger(STAGE, shard, key)
    if entry is not None and all(p.exists() for p in (ws.faces_path(shard), ws.crops_path(shard),
                                                      ws.frames_path(shard))):
        if on_images:
            on_images(len(item["images"]))
        return {**entry, "skipped": True}
    ws.clear_done(STAGE, shard)
    t0 = time.perf_counter()
    s = ws.settings.faces
    given: dict[int, GivenFaces] = item.get("given") or {}
    writer = ShardWriter(shard, int(item["n"]), s)
    names = {i: f"{Path(p).parent.name}/{Path(p).name}" for i, p in item["images"]}
    needs_detector = len(given) < len(item["images"])
    detector = image_detector(s) if needs_detector else None
    # batches are detected on a few threads at once (the session runs each on one core, without spinning)
    threads = max(1, (os.cpu_count() or 1) // int(item.get("workers", 1))) if s.detector == "centerface" else 1
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="affcurate-detect") as pool:
        pending: deque[tuple[list[Decoded], Future[dict[int, Detections]]]] = deque()

        def finish() -> None:
            batch, fut = pending.popleft()
            found = fut.result()
            for d in batch:
                writer.add(d, found.get(d.index))
            if on_images:
                on_images(len(batch))

        for batch in batches(item["images"], BATCH):
            pending.append((batch, pool.submit(_faces_of, batch, given, detector, s)))
            if len(pending) > threads:
                finish()
        while pending:
            finish()
    n_crops = writer.write(ws, names, s.detector if needs_detector else "given")
    info = {"images": writer.results, "n_crops": n_crops,
            "seconds": round(time.perf_counter() - t0, 3)}
    ws.mark_done(STAGE, shard, key, **info)
    return {**info, "key": key, "skipped": False}
