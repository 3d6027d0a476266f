"""Faces stage: detector speed per backend, end-to-end frames/s, speed-mode quality, memory against length.

    .venv/bin/python benchmarks/bench_faces.py [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from _table import print_table

from affcurate.errors import AffcurateError
from affcurate.faces.detectors import make_detector
from affcurate.faces.stage import process_video
from affcurate.faces.types import iou_matrix
from affcurate.flow import ingest
from affcurate.samples import fetch
from affcurate.workspace import Workspace


def detector_ms(name: str, img: np.ndarray, runs: int) -> float | str:
    try:
        d = make_detector(name)
    except AffcurateError as exc:
        return f"unavailable ({str(exc)[:40]}…)"
    d(img)
    times = []
    for _ in range(runs * 5):
        t = time.perf_counter()
        d(img)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def target_iou(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    ta = a[a["is_target"]].drop_duplicates("frame").set_index("frame")
    tb = b[b["is_target"]].drop_duplicates("frame").set_index("frame")
    common = ta.index.intersection(tb.index)
    cols = ["x1", "y1", "x2", "y2"]
    return np.array([iou_matrix(ta.loc[[f], cols].to_numpy(), tb.loc[[f], cols].to_numpy())[0, 0] for f in common])


def memory_child(ws_root: str, vid: str) -> None:
    ws = Workspace.open(ws_root)
    process_video(ws, vid, ws.settings.faces)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory-child", nargs=2)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    samples = fetch(quiet=True)
    rows: list[tuple[str, str, str]] = []
    frame = cv2.cvtColor(cv2.imread(str(samples / "multi_face.jpg")), cv2.COLOR_BGR2RGB)
    for w, h in ((640, 360), (1280, 720)):
        img = cv2.resize(frame, (w, h))
        for name in ("centerface", "blazeface", "fan"):
            ms = detector_ms(name, img, args.runs)
            rows.append((f"{name} detector, {w}×{h}", f"{ms:.1f}" if isinstance(ms, float) else ms, "ms/frame"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        shutil.copy(samples / "WolfgangLanger_Pexels.mp4", src)
        shutil.copy(samples / "single_face.mp4", src)
        ws = Workspace.init(Path(tmp) / "ws")
        ingest(ws, src, faces=False)
        for vid in ("WolfgangLanger_Pexels", "single_face"):
            fps = []
            for _ in range(args.runs):
                t = time.perf_counter()
                out = process_video(ws, vid, ws.settings.faces)
                fps.append(out["n_frames"] / (time.perf_counter() - t))
            rows.append((f"faces stage end to end, {vid} (640×360)", f"{statistics.median(fps):.0f}", "frames/s"))
        # speed mode against detecting every frame
        ious = []
        for vid in ("WolfgangLanger_Pexels", "single_face"):
            s1 = ws.settings.replace("faces", detect_every=1).faces
            process_video(ws, vid, s1)
            every = pd.read_parquet(ws.faces_path(vid))
            for k in (3, 5, 8):
                process_video(ws, vid, ws.settings.replace("faces", detect_every=k).faces)
                iou = target_iou(every, pd.read_parquet(ws.faces_path(vid)))
                ious.append((k, vid, iou))
        for k in (3, 5, 8):
            allk = np.concatenate([i for kk, _, i in ious if kk == k])
            rows.append((f"speed mode k={k}: mean target IoU vs every frame", f"{allk.mean():.3f}", "(goal ≥ 0.85)"))
            rows.append((f"speed mode k={k}: frames with IoU ≥ 0.8", f"{100 * (allk >= 0.8).mean():.1f}", "%"))
        # memory: one video, and the same video ten times longer
        long_src = Path(tmp) / "long"
        long_src.mkdir()
        with av.open(str(ws.video_path("single_face"))) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        with av.open(str(long_src / "single_face_x10.mp4"), "w") as out:
            st = out.add_stream("libx264", rate=30)
            st.width, st.height, st.pix_fmt = 640, 360, "yuv420p"
            for _ in range(10):
                for f in frames:
                    for p in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                        out.mux(p)
            for p in st.encode(None):
                out.mux(p)
        ingest(ws, long_src, faces=False)
        for vid, label in (("single_face", "72 frames"), ("single_face_x10", "720 frames")):
            peak = subprocess.run([sys.executable, __file__, "--memory-child", str(ws.root), vid], capture_output=True,
                                  text=True, check=True).stdout.strip().splitlines()[-1]
            rows.append((f"peak memory, faces stage on {label}", f"{int(peak) / 1024:.0f}", "MB"))
    print_table(f"faces benchmark (medians of {args.runs} runs)", ("figure", "value", "unit"), rows)


if __name__ == "__main__":
    main()
