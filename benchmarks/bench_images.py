"""Image sets end to end: probe (read and hash), decode, detect, align and crop 10,000 real-face JPEGs of 400-640 px
(``affcurate ingest WS --images DIR``), and the files written per 1,000 images.

The images are made once and cached in ``~/.cache/affcurate/bench-images`` (``AFFCURATE_CACHE`` moves it) from the
real faces of the sample media: the six sample JPEGs and every 10th frame of the sample videos that show a face.
Each image is one source face cropped around its face box (the box widened 1.3-2.2 times, its centre moved by up
to 10 % of the box, an aspect of 0.8-1.25, as AffectNet's images are loose face crops), flipped left-right half of
the time, scaled so that its longer side is 400-640 px, and saved as JPEG at quality 60-95, all drawn from a seeded
generator, so every machine benchmarks the same bytes.

    .venv/bin/python benchmarks/bench_images.py [--images 10000] [--runs 3] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from affcurate.executor import ExecutorSpec
from affcurate.faces.detectors import make_detector
from affcurate.imagesets.stage import ingest_images
from affcurate.samples import cache_dir
from affcurate.workspace import Workspace

VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov")
STILLS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg",
          "multi_face.jpg")
VERSION = "v1"


def _sources(samples: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB picture, its largest face's box) of every sample still and every 10th frame with a face."""
    detector = make_detector("centerface", 0.6, 640)
    pictures = [cv2.cvtColor(cv2.imread(str(samples / s)), cv2.COLOR_BGR2RGB) for s in STILLS]
    for name in VIDEOS:
        with av.open(str(samples / name)) as c:
            for i, frame in enumerate(c.decode(video=0)):
                if i % 10 == 0:
                    pictures.append(frame.to_ndarray(format="rgb24"))
    out = []
    for rgb in pictures:
        d = detector(rgb)
        if len(d):
            out.append((rgb, d.boxes[int(np.argmax(d.sizes))]))
    return out


def make_images(n: int) -> Path:
    """The ``n`` benchmark images (made once, then read from the cache)."""
    folder = cache_dir() / "bench-images" / f"{VERSION}-{n}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = _sources(cache_dir() / "samples")
    rng = np.random.default_rng(15)
    for k in range(n):
        rgb, (x1, y1, x2, y2) = sources[int(rng.integers(len(sources)))]
        side = max(x2 - x1, y2 - y1) * rng.uniform(1.3, 2.2)
        aspect = rng.uniform(0.8, 1.25)
        cx = (x1 + x2) / 2 + rng.uniform(-0.1, 0.1) * (x2 - x1)
        cy = (y1 + y2) / 2 + rng.uniform(-0.1, 0.1) * (y2 - y1)
        w, h = side * min(1.0, aspect), side * min(1.0, 1 / aspect)
        h_img, w_img = rgb.shape[:2]
        a, b = int(max(0, cx - w / 2)), int(max(0, cy - h / 2))
        crop = rgb[b:int(min(h_img, cy + h / 2)), a:int(min(w_img, cx + w / 2))]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        scale = rng.integers(400, 641) / max(crop.shape[:2])
        crop = cv2.resize(np.ascontiguousarray(crop), None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        sub = folder / f"{k // 1000:03d}"
        sub.mkdir(exist_ok=True)
        cv2.imwrite(str(sub / f"img{k:05d}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
    (folder / "done").write_text("ok\n")
    return folder


def _files(root: Path) -> int:
    """Files the ingest wrote (the settings file and the writer lock are there before it)."""
    return sum(1 for p in root.rglob("*") if p.is_file() and p.name not in ("affcurate.toml", "writer.lock"))


def _cpu() -> float:
    """CPU seconds of this process and its finished workers (user + system): on a machine shared with others,
    what the work costs, where the wall clock says how much of the machine it got."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    folder = make_images(args.images)
    print(f"images: {folder} ({time.perf_counter() - t0:.1f} s to make or find)")
    rates, cpu, files, faces = [], [], 0, 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
            ws = Workspace.init(Path(tmp) / "ws")
            t, c = time.perf_counter(), _cpu()
            result = ingest_images(ws, folder, spec=ExecutorSpec(jobs=args.jobs))
            dt = time.perf_counter() - t
            rates.append(args.images / dt)
            cpu.append((_cpu() - c) * 1000 / args.images)
            files = _files(ws.root)
            faces = int((result.images["status"] == "ok").sum())
            print(f"run {run + 1}: {dt:.1f} s, {rates[-1]:.0f} images/s, {cpu[-1]:.2f} CPU ms per image, "
                  f"{faces} with a face, "
                  f"load average {os.getloadavg()[0]:.2f}")
    load = os.getloadavg()
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| images | {args.images:,} JPEGs, 400-640 px |")
    print(f"| images/s end to end (median of {args.runs}) | {statistics.median(rates):.0f} |")
    print(f"| runs (images/s) | {', '.join(f'{r:.0f}' for r in rates)} |")
    print(f"| CPU time per image, all threads and workers (median) | {statistics.median(cpu):.2f} ms |")
    print(f"| images/s if 2 cores were free (2000 / CPU ms per image) | {2000 / statistics.median(cpu):.0f} |")
    print(f"| images with a face | {faces:,} |")
    print(f"| files written per 1,000 images | {files * 1000 / args.images:.1f} |")
    print(f"| cores | {os.cpu_count()} |")
    print(f"| load average (1, 5, 15 min) | {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} |")
    print(f"| jobs | {args.jobs} |")


if __name__ == "__main__":
    main()
