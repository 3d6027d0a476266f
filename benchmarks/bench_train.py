"""Trainer speed: cnn training throughput at 112×112 on this machine, the share of step time spent loading
data, and the wall time of the baseline stage of the demo recipe.

    .venv/bin/python benchmarks/bench_train.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _table import print_table

from affcurate.recipe import run
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

DEMO = Path(__file__).resolve().parents[1] / "pipelines" / "demo.toml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(DEMO, Path(tmp) / "demo")  # the library prints nothing
        demo_train = result.seconds["train"]
        ws = Workspace.open(Path(tmp) / "demo")
        ws.save_settings(ws.settings.replace("train", input_size=112))
        ws = Workspace.open(ws.root)
        speeds, shares = [], []
        for i in range(args.runs):
            r = train_baseline(ws, models=["cnn"], tasks=["au", "expr", "va"], epochs=2, seed=i, name=f"bench{i}")
            tp = r.metrics["cnn"]["throughput"]
            speeds.append(tp["images_per_s"])
            shares.append(tp["load_share"])
    print_table(f"trainer benchmark (medians of {args.runs} runs)", ("figure", "value", "unit"), [
        ("cnn training throughput, 112×112 crops", f"{statistics.median(speeds):.0f}", "images/s"),
        ("share of step time loading data", f"{100 * statistics.median(shares):.1f}", "% (goal < 10)"),
        ("baseline stage of the demo recipe (prior, linear, cnn)", f"{demo_train:.1f}", "s wall time"),
    ])


if __name__ == "__main__":
    main()
