"""Whole ingest (probe, transcode, faces) of many one-second clips: frames/s, per-clip overhead, ratio to the
ffmpeg command line's transcode of the same clips, all in one run.

    .venv/bin/python benchmarks/bench_clips.py [--clips 200] [--jobs 2] [--runs 3] [--no-faces]

The clips are the sample videos cut at different offsets (:func:`bench_ingest_scale.make_collection`). The
"long" set is the same clips joined into one video per source sample (``--clips / 4`` seconds each), so both
sets hold the same pictures and the difference between them is what each clip costs beyond its frames:

    per-clip overhead = (T_clips - F_clips * T_long / F_long) / (N_clips - N_long)

in wall-clock ms on ``--jobs`` workers (one worker spends ``jobs`` times that). Beside each wall-clock figure is
the same figure from CPU time (this process and its workers, user + system) spread over ``--jobs`` cores: on a
machine other people load it is what ``--jobs`` idle cores would give. The ffmpeg figure is the bundled
``ffmpeg`` transcoding every clip to 30 fps H.264 with the workspace's crf, preset, keyframe interval and x264
threads, ``--jobs`` commands at a time.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (workers, ffmpeg commands)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ingest_once(folder: Path, jobs: int, faces: bool) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        t, c = time.perf_counter(), cpu_seconds()
        result = ingest(ws, folder, spec=ExecutorSpec("local", jobs), faces=faces)
        wall, cpu = time.perf_counter() - t, cpu_seconds() - c
        assert result.n_failed == 0, result.summary
        return wall, cpu, int(result.manifest["out_frames"].fillna(0).sum()), len(result.manifest)


def ffmpeg_once(folder: Path, jobs: int) -> tuple[float, float]:
    s = IngestSettings()
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        def one(src: Path) -> None:
            subprocess.run([ff, "-y", "-loglevel", "error", "-i", str(src), "-an", "-vf", f"fps={s.fps:g}",
                            "-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf), "-pix_fmt", "yuv420p",
                            "-threads", str(s.encoder_threads), "-g", "60", str(Path(tmp) / src.name)], check=True)

        t, c = time.perf_counter(), cpu_seconds()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, sorted(folder.glob("*.mp4"))))
        return time.perf_counter() - t, cpu_seconds() - c


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
    runs: dict[str, list[tuple[float, float]]] = {"clips": [], "long": [], "ffmpeg": []}
    loads = []
    for _ in range(args.runs):
        wall, cpu, f_clips, n_clips = ingest_once(clips, args.jobs, faces)
        runs["clips"].append((wall, cpu))
        wall, cpu, f_long, n_long = ingest_once(joined, args.jobs, faces)
        runs["long"].append((wall, cpu))
        runs["ffmpeg"].append(ffmpeg_once(clips, args.jobs))
        loads.append(os.getloadavg()[0])
    # medians of wall time and of CPU time spread over the cores
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) / args.jobs for k, v in runs.items()}

    def overhead(t: dict[str, float]) -> float:
        return 1000 * (t["clips"] - f_clips * t["long"] / f_long) / (n_clips - n_long)

    what = "probe, transcode, faces" if faces else "probe, transcode"
    print_table(f"ingest of {n_clips} clips of {args.seconds:g} s ({what}), --jobs {args.jobs}, "
                f"medians of {args.runs} runs, load average {statistics.median(loads):.1f}",
                ("figure", "wall clock", f"CPU time / {args.jobs}", "unit"), [
                    (f"whole ingest, {n_clips} clips ({f_clips} frames)", f"{f_clips / wall['clips']:.0f}",
                     f"{f_clips / cpu['clips']:.0f}", "frames/s"),
                    (f"whole ingest, the same frames as {n_long} long videos", f"{f_long / wall['long']:.0f}",
                     f"{f_long / cpu['long']:.0f}", "frames/s"),
                    ("per-clip overhead", f"{overhead(wall):.0f}", f"{overhead(cpu):.0f}", f"ms on {args.jobs} cores"),
                    ("ffmpeg CLI transcode of the clips", f"{f_clips / wall['ffmpeg']:.0f}",
                     f"{f_clips / cpu['ffmpeg']:.0f}", "frames/s"),
                    ("whole ingest / ffmpeg CLI transcode", f"{wall['clips'] / wall['ffmpeg']:.2f}",
                     f"{cpu['clips'] / cpu['ffmpeg']:.2f}", "× time"),
                ])

if __name__ == "__main__":
    main()
