"""Merge of an Aff-Wild2-sized workspace: about 550 videos, 2.8 million frames, three tasks, three annotators
(9 annotation tables per video, one file each, as import and the desk store them).

    .venv/bin/python benchmarks/bench_merge.py [--videos 550] [--frames 2800000] [--runs 3] [--pool]

Prints the median wall time of ``--runs`` merges in one process (the default: the columnar merge on one thread
per core; what ``affcurate merge`` does: labels, agreement and disagreements written), then of making the
result's pandas frame of the labels (made on first use; timed in merges of its own) and, with ``--pool``, of
merges on a local pool of one process per core, with the core count, the load average before and after, and the
peak memory of the process (and of the pool's workers).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _table import print_table

from affcurate import io
from affcurate.executor import ExecutorSpec
from affcurate.labels.merge import merge
from affcurate.media.manifest import normalise
from affcurate.workspace import Workspace


def build(root: Path, n_videos: int, frames: int, seed: int = 0) -> Workspace:
    rng = np.random.default_rng(seed)
    ws = Workspace.init(root)
    aus = list(ws.settings.labels.aus)
    lengths = np.maximum((rng.lognormal(0, 0.5, n_videos) / 1.13 * frames / n_videos).astype(int), 60)
    rows = []
    for i, n in enumerate(lengths):
        vid = f"video{i:04d}"
        t = np.arange(n) / 30
        io.write_parquet(pd.DataFrame({"frame": np.arange(n), "time": t, "src_frame": np.arange(n), "src_time": t,
                                       "repeated": False}), ws.frames_path(vid))
        rows.append({"video_id": vid, "path": f"/d/{vid}.mp4", "kind": "video", "status": "ok", "avg_fps": 30.0,
                     "n_frames": n, "duration": n / 30, "out_frames": n})
        base_va = np.cumsum(rng.normal(0, 0.01, (n, 2)), 0).clip(-1, 1)
        base_au = rng.random((n, len(aus))) < 0.15
        for k in range(3):
            ann = f"annotator{k}"
            meta = {"video_id": vid, "annotator": ann, "source": "synthetic", "clock": "grid", "time_base": "frame",
                    "fps": 30.0, "shape": "dense", "complete": True}
            va = np.clip(base_va + rng.normal(0, 0.05, (n, 2)), -1, 1)
            io.write_parquet(pd.DataFrame({"video_id": vid, "frame": np.arange(n), "valence": va[:, 0],
                                           "arousal": va[:, 1], "annotator": ann, "source": "synthetic"}),
                             ws.annotation_path(ann, "va", vid), metadata={**meta, "task": "va"})
            au = base_au ^ (rng.random(base_au.shape) < 0.05)
            io.write_parquet(pd.DataFrame({"video_id": vid, "frame": np.arange(n),
                                           **{a: pd.array(au[:, j].astype(int), dtype="Int8") for j, a in enumerate(aus)},
                                           "annotator": ann, "source": "synthetic"}),
                             ws.annotation_path(ann, "au", vid), metadata={**meta, "task": "au"})
            expr = pd.array(np.repeat(rng.integers(0, 8, n // 30 + 1), 30)[:n], dtype="Int8")
            io.write_parquet(pd.DataFrame({"video_id": vid, "frame": np.arange(n), "expr": expr, "annotator": ann,
                                           "source": "synthetic"}),
                             ws.annotation_path(ann, "expr", vid), metadata={**meta, "task": "expr"})
    ws.write_manifest(normalise(pd.DataFrame(rows)))
    return ws


def main() -> None:  # run under the main guard: --pool starts worker processes
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=550)
    ap.add_argument("--frames", type=int, default=2_800_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pool", action="store_true", help="also merge on a local pool of one process per core")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    single, pooled, frame = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Path(tmp) / "ws", args.videos, args.frames)
        files = sum(1 for _ in ws.annotations_dir.glob("*/*/*.parquet"))
        os.sync()  # the annotations on disk before the merges, as a workspace's are when it is merged
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):  # alternating, so both see the same load
            t = time.perf_counter()
            n_frames = merge(ws).frames  # what `affcurate merge` does: the three tables written, the counts known
            single.append(time.perf_counter() - t)
            if args.pool:
                t = time.perf_counter()
                merge(ws, spec=ExecutorSpec("local", cores))
                pooled.append(time.perf_counter() - t)
        for _ in range(args.runs):  # apart: the frame's copy would weigh on the next merge's memory
            result = merge(ws)
            t = time.perf_counter()
            assert len(result.labels) == n_frames  # the pandas frame of the result, made on first use
            frame.append(time.perf_counter() - t)
            del result
        load_after = os.getloadavg()[0]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = [
        ("videos × tasks × annotators", f"{args.videos} × 3 × 3", f"{files:,} annotation files"),
        ("merged frames", f"{n_frames:,}", "frames"),
        ("cores", f"{cores}", f"load average {load_before:.1f} before, {load_after:.1f} after"),
        ("merge wall time in one process (median)", f"{statistics.median(single):.2f}",
         f"s of {', '.join(f'{x:.2f}' for x in single)} (goal ≤ 5)"),
    ]
    rows.append(("then result.labels as a pandas frame (median)", f"{statistics.median(frame):.2f}",
                 "s, made on first use (the command line does not need it)"))
    if pooled:
        rows.append((f"merge wall time on {cores} processes (median)", f"{statistics.median(pooled):.2f}",
                     f"s of {', '.join(f'{x:.2f}' for x in pooled)}"))
    rows.append(("peak memory of the process", f"{peak:.0f}", "MB (goal ≤ 4096)"))
    if pooled:
        rows.append(("peak memory of a pool worker", f"{workers:.0f}", "MB"))
    print_table("merge benchmark", ("figure", "value", "unit"), rows)


if __name__ == "__main__":
    main()
