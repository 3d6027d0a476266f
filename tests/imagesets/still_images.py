"""Folders of real still images made from the sample JPEGs (faces of real people), and a corrupt one."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2

STILLS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg",
          "multi_face.jpg")


def make_stills(samples: Path, folder: Path, flips: int = 1) -> list[Path]:
    """The six sample JPEGs and ``flips`` mirrored copies of each (``flipN_<name>``), each a separate sample."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in STILLS:
        out.append(Path(shutil.copy(samples / name, folder / name)))
        img = cv2.imread(str(samples / name))
        for k in range(flips):
            p = folder / f"flip{k}_{name}"
            cv2.imwrite(str(p), cv2.flip(img, 1), [cv2.IMWRITE_JPEG_QUALITY, 90 - 5 * k])
            out.append(p)
    return out


def truncate(src: Path, dest: Path, keep: float = 0.4) -> Path:
    """A real JPEG cut short (its first ``keep`` part), as a download that stopped does."""
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest
