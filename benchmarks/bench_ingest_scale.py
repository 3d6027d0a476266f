"""Ingest of a 200-video collection with --jobs 1, --jobs 2 and Ray on the same cores.

    .venv/bin/python benchmarks/bench_ingest_scale.py [--videos 200] [--seconds 1.0] [--no-faces]

The collection is made once (cached in the system temp folder): the sample videos cut into short clips at
different offsets with the bundled ffmpeg, so that every clip has distinct content.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from _table import print_table

from affcurate.executor import ExecutorSpec
from affcurate.flow import ingest
from affcurate.media.probe import probe_video
from affcurate.samples import fetch
from affcurate.workspace import Workspace

SOURCES = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov"]


def make_collection(n: int, seconds: float) -> Path:
    root = Path(tempfile.gettempdir()) / f"affcurate-bench-{n}x{seconds:g}s"
    if root.exists() and len(list(root.glob("*.mp4"))) == n:
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    samples = fetch(quiet=True)
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    durations = {s: probe_video(samples / s)["duration"] for s in SOURCES}
    for i in range(n):
        src = SOURCES[i % len(SOURCES)]
        span = max(0.0, durations[src] - seconds)
        offset = (i // len(SOURCES)) * 0.137 % span if span else 0.0
        subprocess.run([ff, "-y", "-loglevel", "error", "-ss", f"{offset:.3f}", "-i", str(samples / src),
                        "-t", f"{seconds}", "-an", "-c:v", "libx264", "-preset", "ultrafast",
                        str(root / f"clip{i:04d}.mp4")], check=True)
    return root


def run_once(collection: Path, spec: ExecutorSpec, faces: bool) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        t = time.perf_counter()
        result = ingest(ws, collection, spec=spec, faces=faces)
        wall = time.perf_counter() - t
        frames = int(result.manifest["out_frames"].fillna(0).sum())
    return wall, frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--no-faces", action="store_true")
    args = ap.parse_args()
    collection = make_collection(args.videos, args.seconds)
    faces = not args.no_faces
    rows = []
    for label, spec in [("--jobs 1", ExecutorSpec("local", 1)), ("--jobs 2", ExecutorSpec("local", 2)),
                        ("ray (local, 2 cpus)", ExecutorSpec("ray", 2))]:
        wall, frames = run_once(collection, spec, faces)
        rows.append((label, wall, frames))
    print_table(f"ingest of {args.videos} clips of {args.seconds:g} s ({'transcode + faces' if faces else 'transcode only'})",
                ("executor", "wall time (s)", "output frames", "frames/s"),
                [(label, f"{wall:.1f}", frames, f"{frames / wall:.0f}") for label, wall, frames in rows])


if __name__ == "__main__":
    main()
