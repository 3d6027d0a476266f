"""Identities across videos: the descriptors' cost against the faces stage on the sample media, and clustering
20,000 videos' descriptors (synthetic 128-d vectors shaped like dlib's) with its memory against the count.

    .venv/bin/python benchmarks/bench_subjects.py [--runs 3] [--videos 20000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _table import print_table
from sklearn.metrics import adjusted_rand_score

from affcurate.faces.stage import process_video
from affcurate.flow import ingest
from affcurate.identity import model
from affcurate.identity.descriptors import compute
from affcurate.identity.reconcile import identify
from affcurate.samples import fetch
from affcurate.workspace import Workspace

SAMPLES = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov")


def synthetic(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """``n`` videos of ``n // 4`` people: one person's videos about 0.3 apart, two people's about 0.8 (5 % of the
    people have a look-alike whose face is 0.45 from theirs: videos about 0.55 apart, near the threshold); 2 % of
    the videos carry another person's subject id."""
    rng = np.random.default_rng(seed)
    people = max(n // 4, 1)
    centres = rng.normal(0, 0.75 / np.sqrt(256), (people, 128))
    twins = rng.choice(people, people // 20, replace=False)
    centres[twins] = centres[(twins + 1) % people] + rng.normal(0, 0.45 / np.sqrt(128), (len(twins), 128))
    truth = rng.integers(0, people, n)
    x = centres[truth] + rng.normal(0, 0.3 / np.sqrt(256), (n, 128))
    subjects = [f"s{p}" for p in truth]
    for i in rng.choice(n, n // 50, replace=False):
        subjects[i] = f"s{rng.integers(0, people)}"
    return [f"v{i:06d}" for i in range(n)], x, subjects, truth


def cost_rows(runs: int) -> list[tuple[str, str, str]]:
    samples = fetch(quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in SAMPLES:
            shutil.copy(samples / name, src)
        ws = Workspace.init(Path(tmp) / "ws")
        ingest(ws, src, faces=False)
        vids = ws.video_ids()
        t = time.perf_counter()
        model.models()
        load = time.perf_counter() - t
        faces, desc, ratio = [], [], []
        n_desc = 0
        for _ in range(runs):  # each run times both, one after the other: the machine's load is alike for both
            t = time.perf_counter()
            for vid in vids:
                process_video(ws, vid, ws.settings.faces)
            faces.append(time.perf_counter() - t)
            t = time.perf_counter()
            n_desc = sum(compute(ws, vid, ws.settings.subjects.frames).num_rows for vid in vids)
            desc.append(time.perf_counter() - t)
            ratio.append(desc[-1] / faces[-1])
        n_frames = sum(int(ws.ledger("transcode", v)["out_frames"]) for v in vids)
        f, d, r = statistics.median(faces), statistics.median(desc), statistics.median(ratio)
    what = f"{len(vids)} sample videos, {n_frames} frames"
    return [
        (f"faces stage, {what}", f"{f:.2f}", "s"),
        (f"descriptors ({n_desc}: one per 10 s of presence, at most {ws.settings.subjects.frames} a video), {what}",
         f"{d:.2f}", "s"),
        ("descriptors / faces stage (median of the runs' ratios)", f"{100 * r:.1f}", "% (goal ≤ 10)"),
        ("model load, once per worker process", f"{load:.2f}", "s"),
        ("descriptors + one model load / faces stage", f"{100 * (r + load / f):.1f}", "%"),
    ]


def cluster_rows(n: int, runs: int) -> list[tuple[str, str, str]]:
    vids, x, subjects, truth = synthetic(n)
    secs, table = [], None
    for _ in range(runs):
        t = time.perf_counter()
        table, findings = identify(vids, x, subjects, 0.5)
        secs.append(time.perf_counter() - t)
    rows = [(f"identities of {n} videos (cluster, confidence, nearest, findings)", f"{statistics.median(secs):.1f}",
             "s (goal ≤ 30)"),
            (f"{n} videos: adjusted Rand index against the true people", f"{adjusted_rand_score(truth, table['identity']):.3f}",
             ""),
            (f"{n} videos: identities found / true people", f"{table['identity'].nunique()} / {len(set(truth))}", "")]
    for m in sorted({max(n // 4, 1), max(n // 2, 1), n}):
        v, xs, s, _ = synthetic(m, seed=1)
        tracemalloc.start()
        identify(v, xs, s, 0.5)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append((f"peak memory of identities, {m} videos (descriptors themselves: {xs.nbytes / 2**20:.0f} MB)",
                     f"{peak / 2**20:.0f}", "MB"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--videos", type=int, default=20_000)
    ap.add_argument("--skip-media", action="store_true", help="Only the clustering figures.")
    args = ap.parse_args()
    rows = [] if args.skip_media else cost_rows(args.runs)
    rows += cluster_rows(args.videos, args.runs)
    print_table(f"subjects benchmark (medians of {args.runs} runs)", ("figure", "value", "unit"), rows)


if __name__ == "__main__":
    main()
