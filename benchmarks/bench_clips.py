"""Whole ingest (probe, transcode, faces) of many one-second clips: frames/s, per-clip overhead, ratio to the
ffmpeg command line's transcode of the same clips, all in one run.

    .venv/bin/python benchmarks/bench_clips.py [--clips 200] [--jobs 2] [--runs 3] [--no-faces]

The clips are the sample videos cut at different offsets (:func:`bench_ingest_scale.make_collection`). The
"long" set is the same clips joined into one video per source sample (``--clips / 4`` seconds each), so both
sets hold the same pictures and the difference between them is what each clip costs beyond its frames:

    per-clip overhead = (T_clips - F_clips * T_long / F_long) / (N_clips - N_long)

in wall-clock ms on ``--jobs`` workers (one worker spends ``jobs`` times that). The ffmpeg figure is the bundled
``ffmpeg`` transcoding every clip to 30 fps H.264 with the workspace's crf, preset, keyframe interval and x264
threads, ``--jobs`` commands at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imageio_ffmpeg
from _table import print_table
from bench_ingest_scale import SOURCES, make_collection

from affcurate.executor import ExecutorSpec
from affcurate.flow import ingest
from affcurate.settings import IngestSettings
from affcurate.workspace import Workspace


def join_clips(clips: Path, n: int) -> Path:
    """One video per source sample: the clips cut from it, end to end (re-encoded as the clips were)."""
    root = clips.with_name(clips.name + "-joined")
    if root.exists() and len(list(root.glob("*.mp4"))) == len(SOURCES):
        return root
    root.mkdir(exist_ok=True)
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    for k in range(len(SOURCES)):
        listing = root / f"long{k}.txt"
        listing.write_text("".join(f"file '{clips / f'clip{i:04d}.mp4'}'\n" for i in range(k, n, len(SOURCES))))
        subprocess.run([ff, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-an",
                        "-c:v", "libx264", "-preset", "ultrafast", str(root / f"long{k}.mp4")], check=True)
        listing.unlink()
    return root


def ingest_once(folder: Path, jobs: int, faces: bool) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        t = time.perf_counter()
        result = ingest(ws, folder, spec=ExecutorSpec("local", jobs), faces=faces)
        wall = time.perf_counter() - t
        assert result.n_failed == 0, result.summary
        return wall, int(result.manifest["out_frames"].fillna(0).sum()), len(result.manifest)


def ffmpeg_once(folder: Path, jobs: int) -> float:
    s = IngestSettings()
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        def one(src: Path) -> None:
            subprocess.run([ff, "-y", "-loglevel", "error", "-i", str(src), "-an", "-vf", f"fps={s.fps:g}",
                            "-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf), "-pix_fmt", "yuv420p",
                            "-threads", str(s.encoder_threads), "-g", "60", str(Path(tmp) / src.name)], check=True)

        t = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, sorted(folder.glob("*.mp4"))))
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-faces", action="store_true")
    args = ap.parse_args()
    clips = make_collection(args.clips, args.seconds)
    joined = join_clips(clips, args.clips)
    faces = not args.no_faces
    t_clips, t_long, t_ff, loads = [], [], [], []
    for _ in range(args.runs):
        wall, f_clips, n_clips = ingest_once(clips, args.jobs, faces)
        t_clips.append(wall)
        wall, f_long, n_long = ingest_once(joined, args.jobs, faces)
        t_long.append(wall)
        t_ff.append(ffmpeg_once(clips, args.jobs))
        loads.append(os.getloadavg()[0])
    tc, tl, tf = (statistics.median(x) for x in (t_clips, t_long, t_ff))
    overhead = (tc - f_clips * tl / f_long) / (n_clips - n_long)
    what = "probe, transcode, faces" if faces else "probe, transcode"
    print_table(f"ingest of {n_clips} clips of {args.seconds:g} s ({what}), --jobs {args.jobs}, "
                f"medians of {args.runs} runs, load average {statistics.median(loads):.1f}",
                ("figure", "value", "unit"), [
                    (f"whole ingest, {n_clips} clips", f"{f_clips / tc:.0f}", f"frames/s ({f_clips} frames, {tc:.1f} s)"),
                    (f"whole ingest, the same frames as {n_long} long videos", f"{f_long / tl:.0f}",
                     f"frames/s ({f_long} frames, {tl:.1f} s)"),
                    ("per-clip overhead", f"{1000 * overhead:.0f}", f"ms wall on {args.jobs} workers"),
                    ("ffmpeg CLI transcode of the clips", f"{f_clips / tf:.0f}", f"frames/s ({tf:.1f} s)"),
                    ("whole ingest / ffmpeg CLI transcode", f"{tc / tf:.2f}", "× time"),
                ])


if __name__ == "__main__":
    main()
