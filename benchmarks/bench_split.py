"""Split quality and speed: seed 001's workspace shape, and a 50,000-video / 20,000-subject workspace.

    .venv/bin/python benchmarks/bench_split.py [--runs 3] [--big-videos 50000 --big-subjects 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _table import print_table

from affcurate.splits import split
from affcurate.splits.feasible import closest
from affcurate.synthetic import labelled_workspace, seed001_workspace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-videos", type=int, default=50_000)
    ap.add_argument("--big-subjects", type=int, default=20_000)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = seed001_workspace(Path(tmp) / "s001", seed=1)
        for method, kw in (("random --draws 100", {"method": "random", "draws": 100}), ("optimise (default)", {})):
            gaps, secs = [], []
            for seed in range(args.runs):
                t = time.perf_counter()
                r = split(ws, train=0.8, test=0.2, seed=seed, write=False, **kw)
                secs.append(time.perf_counter() - t)
                gaps.append(r.max_au_gap)
            rows.append((f"seed-001 shape (64 videos, 59 subjects), 80/20: {method}",
                         f"{statistics.median(gaps):.2f}", "pp largest AU gap", f"{statistics.median(secs):.2f}"))
        rates = {"AU1": 0.19, "AU2": 0.11, "AU4": 0.17, "AU6": 0.21, "AU12": 0.19, "AU15": 0.03, "AU20": 0.04,
                 "AU25": 0.08}
        big = labelled_workspace(Path(tmp) / "big", args.big_videos, args.big_subjects, args.big_videos * 40, rates,
                                 seed=2)
        for method, kw in (("random --draws 100", {"method": "random", "draws": 100}), ("optimise (default)", {})):
            t = time.perf_counter()
            r = split(big, train=0.8, test=0.2, seed=0, write=False, **kw)
            rows.append((f"{args.big_videos} videos / {args.big_subjects} subjects: {method}",
                         f"{r.max_au_gap:.2f}", "pp largest AU gap", f"{time.perf_counter() - t:.1f}"))
    # the feasibility check at its exhaustive limit: 13 subjects in 3 parts, targets that cannot be met
    frames = np.rint(np.random.default_rng(0).lognormal(0, 1, 13) * 1000) + 30
    targets = np.array([0.7, 0.1, 0.2])
    t = time.perf_counter()
    c = closest(frames, targets, 0.0)
    rows.append(("feasibility check, 13 subjects, 70/10/20, tolerance 0 (exact search)", f"{c.miss(targets):.4f}",
                 "largest share miss", f"{time.perf_counter() - t:.2f}"))
    print_table(f"split benchmark (seed-001 rows are medians over {args.runs} seeds)",
                ("figure", "value", "unit", "seconds"), rows)


if __name__ == "__main__":
    main()
