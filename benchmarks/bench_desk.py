"""The annotation desk: frame-step latency, VA sampling during playback, and memory with a long video.

    .venv/bin/python benchmarks/bench_desk.py [--runs 3] [--long-minutes 30]

Latency is measured from the key press (a real key event through the window's shortcuts) to the end of the
paint of the new frame, offscreen, at 640x360 (the sample) and 1280x720 (the sample scaled up with the bundled
ffmpeg, then ingested). Forward steps, backward steps (which cross keyframes and decode a group of frames) and
1-second jumps are timed separately; each run steps through the video, and the medians over runs are quoted.
VA sampling: 10 s of recording at 1x while a timer moves the pointer round the pad. Memory: resident size of
this process with the desk open on a long video (the sample looped, ingested without the faces stage), after
random jumps and 10 s of playback. The long workspace is kept in ~/.cache/affcurate/bench/ between runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import imageio_ffmpeg  # noqa: E402
import numpy as np  # noqa: E402
from _table import print_table  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from affcurate.flow import ingest  # noqa: E402
from affcurate.samples import fetch  # noqa: E402
from affcurate.workspace import Workspace  # noqa: E402
from annotator_gui.window import Desk  # noqa: E402

SAMPLE = "WolfgangLanger_Pexels"


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    info = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(info["VmRSS"].split()[0]) / 1024, int(info["VmHWM"].split()[0]) / 1024


def scaled(src: Path, dst: Path, height: int, loops: int = 0) -> Path:
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    cmd = [ff, "-y", "-loglevel", "error"] + (["-stream_loop", str(loops)] if loops else []) + [
        "-i", str(src), "-an", "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        str(dst)]
    subprocess.run(cmd, check=True)
    return dst


def workspace(root: Path, video: Path, faces: bool = True) -> Workspace:
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy(video, src / f"{SAMPLE}{video.suffix}")
    ws = Workspace.init(root / "ws")
    r = ingest(ws, src, faces=faces)
    assert r.n_failed == 0
    return ws


def open_desk(ws: Workspace, task: str = "au") -> Desk:
    d = Desk(ws, "bench", video=SAMPLE, task=task)
    d.show()
    d.activateWindow()
    QTest.qWaitForWindowActive(d)
    return d


def press_to_paint(app: QApplication, d: Desk, key, mod=Qt.KeyboardModifier.NoModifier) -> float:
    """Seconds from a key press to the end of the paint of the frame it asked for."""
    paints = d.view.paints
    t = time.perf_counter()
    QTest.keyClick(d, key, mod)
    target = d.current
    while d.view.paints == paints or d.view.painted_index != target:
        app.processEvents()
    return time.perf_counter() - t


def latency(app: QApplication, ws: Workspace, runs: int) -> dict[str, tuple[float, float]]:
    out: dict[str, list[tuple[float, float]]] = {"forward": [], "backward": [], "1 s jumps": []}
    for _ in range(runs):
        d = open_desk(ws)
        n = d.n_frames
        fwd = [press_to_paint(app, d, Qt.Key.Key_Right) for _ in range(n - 1)]
        back = [press_to_paint(app, d, Qt.Key.Key_Left) for _ in range(n - 1)]
        d.close()
        d = open_desk(ws)  # a fresh cache: jumps decode
        jumps = [press_to_paint(app, d, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
                 for _ in range(n // 30 - 1)]
        jumps += [press_to_paint(app, d, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
                  for _ in range(n // 30 - 1)]
        d.close()
        for name, xs in (("forward", fwd), ("backward", back), ("1 s jumps", jumps)):
            out[name].append((float(np.percentile(xs, 50)), float(np.percentile(xs, 95))))
    return {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in out.items()}


def va_sampling(app: QApplication, ws: Workspace, seconds: float) -> tuple[float, int, int]:
    """(samples per second, frames played, frames of the pass without a sample) at 1x."""
    d = open_desk(ws, task="va")
    start = time.monotonic()

    def move() -> None:
        t = time.monotonic() - start
        QTest.mouseMove(d.pad, d.pad.to_point(0.7 * math.cos(t), 0.7 * math.sin(2 * t)).toPoint())

    timer = QTimer()
    timer.timeout.connect(move)
    timer.start(10)
    QTest.keyClick(d, Qt.Key.Key_R)
    QTest.keyClick(d, Qt.Key.Key_Space)
    while time.monotonic() - start < seconds and d.playing:
        app.processEvents()
    QTest.keyClick(d, Qt.Key.Key_Space)
    timer.stop()
    samples = d.va_samples
    frames = [f for _, f in samples]
    rate = len(samples) / (samples[-1][0] - samples[0][0])
    played = set(range(frames[0], frames[-1] + 1))
    d.session.journal.close()
    d.close()
    return rate, len(played), len(played - set(frames))


def long_workspace(minutes: int) -> Path:
    cache = Path.home() / ".cache" / "affcurate" / "bench" / f"desk-{minutes}min"
    if not (cache / "ws" / "manifest.parquet").exists():
        samples = fetch(quiet=True)
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        loops = math.ceil(minutes * 60 / 19.7)
        long = scaled(samples / f"{SAMPLE}.mp4", cache / "long.mp4", 360, loops=loops)
        workspace(cache, long, faces=False)
        long.unlink()
    return cache / "ws"


def long_video_memory(app: QApplication, root: Path) -> tuple[int, float, float, float, float]:
    """Run in a process of its own, so that the figures are the desk's and not earlier measurements'."""
    ws = Workspace.open(root)
    for p in (ws.annotations_dir, ws.state_dir / "desk"):
        shutil.rmtree(p, ignore_errors=True)
    base, _ = rss_mb()
    d = open_desk(ws)
    opened, _ = rss_mb()
    rng = np.random.default_rng(0)
    for f in rng.integers(0, d.n_frames, 200):
        d.seek(int(f))
        app.processEvents()
    d.seek(0)
    QTest.keyClick(d, Qt.Key.Key_Space)
    t = time.monotonic()
    while time.monotonic() - t < 10:
        app.processEvents()
    QTest.keyClick(d, Qt.Key.Key_Space)
    used, peak = rss_mb()
    n = d.n_frames
    d.close()
    return n, base, opened, used, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--long-minutes", type=int, default=30)
    ap.add_argument("--memory-of", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    if args.memory_of:
        print(json.dumps(long_video_memory(app, args.memory_of)))
        return
    samples = fetch(quiet=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {"640x360": samples / f"{SAMPLE}.mp4",
                 "1280x720": scaled(samples / f"{SAMPLE}.mp4", Path(tmp) / "hd.mp4", 720)}
        for label, video in sizes.items():
            ws = workspace(Path(tmp) / label, video)
            for kind, (p50, p95) in latency(app, ws, args.runs).items():
                rows.append((f"step latency {kind}, {label}", f"{p50 * 1e3:.1f}", f"{p95 * 1e3:.1f}", "ms (p50, p95)"))
            if label == "640x360":
                rates = [va_sampling(app, ws, 10.0) for _ in range(args.runs)]
                rows.append(("VA samples during 1x playback", f"{statistics.median(r[0] for r in rates):.1f}", "",
                             "samples/s"))
                rows.append(("VA frames without a sample", f"{sum(r[2] for r in rates)}",
                             f"of {sum(r[1] for r in rates)}", "frames"))
    root = long_workspace(args.long_minutes)
    out = subprocess.run([sys.executable, __file__, "--memory-of", str(root)], check=True, capture_output=True,
                         text=True).stdout
    n, base, opened, used, peak = json.loads(out.strip().splitlines()[-1])
    rows.append(("memory of the process before the desk opens (Qt, PyAV, pandas)", f"{base:.0f}", "",
                 "MB resident"))
    rows.append((f"memory, {args.long_minutes} min video ({n} frames) open", f"{opened - base:.0f}", "",
                 "MB over the process before opening"))
    rows.append(("memory after 200 jumps and 10 s playback", f"{used:.0f}", f"peak {peak:.0f}", "MB resident"))
    print_table("annotation desk", ["figure", "value", "", "unit"], rows)


if __name__ == "__main__":
    main()
