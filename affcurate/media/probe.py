"""Probe a video (or a folder of numbered images) with PyAV: facts for the manifest."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from affcurate.errors import AffcurateError

VIDEO_EXTENSIONS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
_DIGITS = re.compile(r"(\d+)")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_sha256(files: list[Path]) -> str:
    """Hash of an image sequence: names and contents, in order."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(b"\0")
        h.update(bytes.fromhex(file_sha256(f)))
    return h.hexdigest()


def natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(name)]


def image_sequence(folder: Path) -> list[Path]:
    """The numbered images of a folder, in natural order (``1.png`` before ``10.png``)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    files = [p for p in files if _DIGITS.search(p.stem)]
    return sorted(files, key=lambda p: natural_key(p.name))


def image_files(path: Path) -> list[Path]:
    """The frames of an image source: one image file, or the numbered images of a folder."""
    path = Path(path)
    if path.is_file():
        return [path] if path.suffix.lower() in IMAGE_EXTENSIONS else []
    return image_sequence(path) if path.is_dir() else []


def is_image_sequence(folder: Path) -> bool:
    return folder.is_dir() and len(image_sequence(folder)) >= 2


def _ratio(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(Fraction(value))
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    return f if f > 0 else None


def probe_video(path: str | Path) -> dict[str, Any]:
    """Facts about one video file. Raises :class:`AffcurateError` with a one-line reason when unreadable.

    The frame count is exact: every video packet is demuxed (not decoded). The frame rate is variable (``vfr``)
    when the gaps between presentation times differ by more than 10% of the median gap.
    """
    path = Path(path)
    if not path.exists():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise AffcurateError("symbolic link loop: the link leads back to itself") from None
        raise AffcurateError("file not found")
    size = path.stat().st_size
    if size == 0:
        raise AffcurateError("empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AffcurateError(f"not a readable video ({_reason(exc)})") from exc
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise AffcurateError(f"no video stream (contains {', '.join(kinds)})")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        tb = stream.time_base
        pts: list[int] = []
        n_packets = 0
        rotation: int | None = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                n_packets += 1
                if packet.pts is not None:
                    pts.append(packet.pts)
                if rotation is None:  # decoded in the same pass: one open of the file per probe
                    rotation = _rotation(stream, packet)
        except av.error.FFmpegError as exc:
            raise AffcurateError(f"cannot read the video stream ({_reason(exc)})") from exc
        if n_packets == 0:
            raise AffcurateError("the video stream holds no frames")
        if stream.frames and n_packets < stream.frames:
            raise AffcurateError(f"truncated file: {n_packets} of the {stream.frames} frames its index lists are present")
        if rotation is None:
            rotation = _rotation(stream, None)
        times = np.sort(np.asarray(pts, dtype=np.float64)) * float(tb) if pts else np.zeros(0)
        gaps = np.diff(times)
        gaps = gaps[gaps > 0]
        median_gap = float(np.median(gaps)) if gaps.size else 0.0
        vfr = bool(gaps.size and (np.abs(gaps - median_gap) > 0.1 * median_gap).mean() > 0.02)
        if times.size:
            duration = float(times[-1] - times[0] + (median_gap if median_gap else 0.0))
        else:
            duration = float(container.duration or 0) / av.time_base
        avg_fps = _ratio(stream.average_rate) or (n_packets / duration if duration else None)
        real_fps = _ratio(stream.base_rate) or _ratio(stream.guessed_rate)
        return {
            "container": container.format.name.split(",")[0],
            "codec": ctx.name,
            "width": int(ctx.width),
            "height": int(ctx.height),
            "rotation": rotation,
            "avg_fps": avg_fps,
            "real_fps": real_fps,
            "duration": duration,
            "n_frames": n_packets,
            "vfr": vfr,
            "has_audio": bool(container.streams.audio),
            "size": size,
            "kind": "video",
        }
    finally:
        container.close()


def probe_images(path: str | Path, fps: float) -> dict[str, Any]:
    """Facts about a still image or a folder of numbered images shown at ``fps``."""
    path = Path(path)
    if not path.exists():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise AffcurateError("symbolic link loop: the link leads back to itself") from None
        raise AffcurateError("file not found")
    files = image_files(path)
    if not files:
        raise AffcurateError("no numbered images in the folder" if path.is_dir() else "not an image file")
    first = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise AffcurateError(f"cannot read image {files[0].name}")
    h, w = first.shape[:2]
    return {
        "container": "images",
        "codec": files[0].suffix.lower().lstrip("."),
        "width": int(w),
        "height": int(h),
        "rotation": 0,
        "avg_fps": float(fps),
        "real_fps": float(fps),
        "duration": len(files) / float(fps),
        "n_frames": len(files),
        "vfr": False,
        "has_audio": False,
        "size": sum(f.stat().st_size for f in files),
        "kind": "images",
    }


def _rotation(stream: Any, packet: av.Packet | None) -> int | None:
    """Display rotation in degrees counter-clockwise (0, 90, 180, 270) from the first decoded frame, fed one
    packet at a time (None: the end of the stream, which flushes the decoder); None until a frame comes out. The
    stream's ``rotate`` tag stands in when the frames cannot be decoded."""
    try:
        frames = packet.decode() if packet is not None else stream.codec_context.decode(None)
    except av.error.FFmpegError:
        frames = None
    if frames:
        return int(round(getattr(frames[0], "rotation", 0) or 0)) % 360
    if frames is None or packet is None:
        return int(stream.metadata.get("rotate", 0) or 0) % 360
    return None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().splitlines()[0] if text else type(exc).__name__
