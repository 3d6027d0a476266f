"""Reading still images: bytes from disk, decoded by OpenCV (``cv2.imdecode``, EXIF orientation applied) in a
small thread pool, so that decoding the next batch overlaps detecting this one. A file that cannot be read or
decoded is a one-line reason naming it, never an exception for its shard."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


@dataclass
class Decoded:
    """One image: its RGB pixels (None when it failed, with ``error``), its size in bytes and its sha256."""

    index: int
    path: str
    rgb: np.ndarray | None
    size: int | None = None
    sha256: str | None = None
    error: str | None = None


def _reason(path: str, data: bytes) -> str | None:
    """Why ``data`` is no whole image, before decoding (OpenCV decodes a cut JPEG without a word)."""
    if not data:
        return f"{path}: empty file, expected an image"
    # the end-of-image marker can only be the marker itself in a JPEG's data (0xFF is escaped there); some
    # writers put a few bytes after it
    if data.startswith(JPEG_START) and JPEG_END not in data[-4096:]:
        return f"{path}: truncated JPEG (no end-of-image marker after {len(data):,} bytes)"
    return None


def decode(index: int, path: str) -> Decoded:
    """Read and decode one file; never raises."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Decoded(index, path, None, error=f"{path}: cannot read ({exc.strerror or exc})")
    digest = hashlib.sha256(data).hexdigest()
    reason = _reason(path, data)
    if reason is not None:
        return Decoded(index, path, None, len(data), digest, reason)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        return Decoded(index, path, None, len(data), digest, f"{path}: not a decodable image ({len(data):,} bytes)")
    return Decoded(index, path, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), len(data), digest)


def batches(paths: list[tuple[int, str]], batch: int, threads: int = 2) -> Iterator[list[Decoded]]:
    """The images of ``paths`` ((index, path) pairs) decoded, ``batch`` at a time, in order; the next batch is
    decoding while the caller works on this one (at most two batches of pixels are held)."""
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="affcurate-decode") as pool:
        def submit(start: int) -> list[Future[Decoded]]:
            return [pool.submit(decode, i, p) for i, p in paths[start:start + batch]]

        pending = submit(0)
        for start in range(0, len(paths), batch):
            ahead = submit(start + batch) if start + batch < len(paths) else []
            yield [f.result() for f in pending]
            pending = ahead
