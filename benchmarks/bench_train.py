"""Trainer speed: cnn training throughput at 112×112 on this machine, the share of step time spent loading
data, and the wall time of the baseline stage of the demo recipe.

    .venv/bin/python benchmarks/bench_train.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from affcurate.run import run
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

DEMO = Path(__file__).resolve().parents[1] / "pipelines" / "demo.toml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(DEMO, Path(tmp) / "demo", console=Console(quiet=True))
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
    table = Table(title=f"trainer benchmark ({os.cpu_count()} cores, medians of {args.runs} runs)")
    for c in ("figure", "value", "unit"):
        table.add_column(c)
    table.add_row("cnn training throughput, 112×112 crops", f"{statistics.median(speeds):.0f}", "images/s")
    table.add_row("share of step time loading data", f"{100 * statistics.median(shares):.1f}", "% (goal < 10)")
    table.add_row("baseline stage of the demo recipe (prior, linear, cnn)", f"{demo_train:.1f}", "s wall time")
    Console().print(table)


if __name__ == "__main__":
    main()
