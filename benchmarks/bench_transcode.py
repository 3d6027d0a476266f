"""Transcode throughput, ratio to the bundled ffmpeg command line, and probe time.

    .venv/bin/python benchmarks/bench_transcode.py [--runs 5]

Both sides convert the 23.976 fps sample to constant 30 fps H.264 (same crf, preset, keyframe interval and thread count) in this
process's run, alternating, and the medians are compared: with the sound kept (AAC, the default) and without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from _table import print_table

from affcurate.media.probe import probe_video
from affcurate.media.transcode import TranscodeOptions, transcode
from affcurate.samples import fetch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    samples = fetch(quiet=True)
    src = samples / "WolfgangLanger_Pexels.mp4"
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    facts = probe_video(src)
    times: dict[tuple[str, bool], list[float]] = {}
    frames = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for sound in (True, False):
                opts = TranscodeOptions(keep_audio=sound)
                t = time.perf_counter()
                fm = transcode(src, Path(tmp) / "ours.mp4", duration=facts["duration"], width=facts["width"],
                               height=facts["height"], options=opts)
                times.setdefault(("ours", sound), []).append(time.perf_counter() - t)
                frames = len(fm)
                audio = ["-c:a", "aac"] if sound else ["-an"]
                t = time.perf_counter()
                subprocess.run([ff, "-y", "-loglevel", "error", "-i", str(src), *audio, "-vf", "fps=30",
                                "-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf), "-pix_fmt",
                                "yuv420p", "-threads", str(opts.threads), "-g", str(opts.gop),
                                str(Path(tmp) / "ffmpeg.mp4")], check=True)
                times.setdefault(("ffmpeg", sound), []).append(time.perf_counter() - t)
    probes = []
    for name in ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4"):
        for _ in range(args.runs):
            t = time.perf_counter()
            probe_video(samples / name)
            probes.append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for sound, what in ((True, "sound kept"), (False, "no sound")):
        rows += [
            (f"affcurate transcode, 23.976 → 30 fps, 640×360, {what}", f"{frames / med['ours', sound]:.0f}",
             "output frames/s"),
            (f"ffmpeg CLI, same conversion, {what}", f"{frames / med['ffmpeg', sound]:.0f}", "output frames/s"),
            (f"time ratio affcurate / ffmpeg CLI, {what}", f"{med['ours', sound] / med['ffmpeg', sound]:.2f}",
             "× (goal ≤ 1.15)"),
        ]
    rows.append(("probe time per video (5 samples)", f"{1000 * statistics.median(probes):.1f}", "ms"))
    print_table(f"transcode benchmark (median of {args.runs} runs, load average {os.getloadavg()[0]:.1f})",
                ("figure", "value", "unit"), rows)

if __name__ == "__main__":
    main()
