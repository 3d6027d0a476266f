"""`affcurate train-baseline`: fit every chosen baseline on the train split, pick thresholds and checkpoints on
validation, score on test, and write the run: config, per-epoch log, best checkpoint, metrics, a benchmark
table comparing the baselines (Markdown and JSON) and a model card."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import Progress, current_progress
from affcurate.names import check_name
from affcurate.train import checkpoint, registry, runs
from affcurate.train.base import Predictions
from affcurate.train.checkpoint import DamagedFile, EpochLog
from affcurate.train.data import Index, build_index
from affcurate.train.metrics import abaw_scores, au_metrics, expr_metrics, tune_thresholds, va_metrics
from affcurate.workspace import Workspace

TASKS = ("au", "expr", "va")


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_tasks: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # one line each: skipped tasks, damaged files started again


def _has_task(index: Index, task: str) -> bool:
    if task == "au":
        return bool(index.au_mask.any())
    if task == "expr":
        return bool((index.expr >= 0).any())
    return bool(index.va_mask.any())


def evaluate(index: Index, pred: Predictions, tasks: tuple[str, ...], thresholds: np.ndarray | None
             ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    if "au" in tasks and pred.au is not None and index.au_mask.any():
        out["au"] = au_metrics(index.au, pred.au, index.au_mask, index.aus, thresholds)
    e = index.expr >= 0
    if "expr" in tasks and pred.expr is not None and e.any():
        out["expr"] = expr_metrics(index.expr[e], pred.expr[e], index.n_expr)
    if "va" in tasks and pred.va is not None and index.va_mask.any():
        out["va"] = va_metrics(index.va, pred.va, index.va_mask)
    return out


def train_baseline(ws: Workspace, models: list[str] | tuple[str, ...] | None = None,
                   tasks: list[str] | tuple[str, ...] | None = None, epochs: int | None = None,
                   seed: int | None = None, batch_size: int | None = None, lr: float | None = None,
                   name: str | None = None, progress: Progress | None = None,
                   on_note: Callable[[str], None] | None = None, overwrite: bool = False) -> TrainResult:
    """Train and benchmark baselines on the curated workspace; returns where the run was written. The same
    arguments give the same run folder, so an interrupted run resumes. A ``name`` already used with other
    settings, labels or splits is refused, unless ``overwrite`` replaces that run with a fresh one.

    Things the user should know but that do not stop the run (a task without train labels, a damaged
    checkpoint whose model starts again) are collected in ``TrainResult.notes`` and passed to ``on_note`` as
    they happen; without ``on_note`` they are issued as warnings."""
    s = ws.settings.train
    models = tuple(models or s.models)
    tasks = tuple(tasks or s.tasks)
    for m in models:
        if m not in registry.BASELINES:
            raise AffcurateError(f"unknown model {m!r}: expected some of {', '.join(registry.names())}")
    for t in tasks:
        if t not in TASKS:
            raise AffcurateError(f"unknown task {t!r}: expected some of {', '.join(TASKS)}")
    if name is not None:  # Python callers are held to the command line's rule: one folder inside runs/
        check_name(name, "run name")
    config = {"models": list(models), "tasks": list(tasks), "epochs": epochs or s.epochs, "seed": s.seed if seed is
              None else seed, "batch_size": batch_size or s.batch_size, "lr": lr or s.lr, "window": s.window,
              "input_size": s.input_size, "workers": s.workers}
    # one writer at a time: the checkpoints, runs/benchmark.md and the stale temporaries are this run's
    with ws.writing("affcurate train-baseline"):
        return _train(ws, config, name, progress, on_note, overwrite)


def _train(ws: Workspace, config: dict[str, Any], name: str | None, progress: Progress | None,
           on_note: Callable[[str], None] | None, overwrite: bool) -> TrainResult:
    models, tasks = config["models"], config["tasks"]
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    index = build_index(ws)
    parts = {p: np.flatnonzero(index.table["split"].to_numpy() == p) for p in ("train", "val", "test")}
    if len(parts["train"]) == 0:
        raise AffcurateError("no labelled crops in the train split: check `affcurate split` and `affcurate merge`")
    train = index.subset(parts["train"])
    val = index.subset(parts["val"]) if len(parts["val"]) else None
    test = index.subset(parts["test"]) if len(parts["test"]) else (val if val is not None else train)
    data = runs.data_key(ws)
    result = TrainResult(runs.run_dir(ws, name, config, data))

    def note(text: str) -> None:
        result.notes.append(text)
        if on_note is not None:
            on_note(text)
        else:
            warnings.warn(text, stacklevel=4)

    run = result.run_dir
    kept = []
    for t in tasks:
        if _has_task(train, t):
            kept.append(t)
        else:
            note(f"task {t} has no labelled frames in the train split: skipped")
            result.skipped_tasks.append(t)
    if not kept:
        raise AffcurateError(f"none of the tasks {', '.join(tasks)} has labelled train frames")
    runs.claim(ws, run, {**config, "data": data}, overwrite)
    io.write_json(run / "config.json", {**config, "data": data, "tasks_trained": kept,
                                        "frames": {k: int(len(v)) for k, v in parts.items()}})
    report = progress or current_progress()
    report("baselines", 0, len(models))
    for i, m in enumerate(models, 1):
        out = run / m
        out.mkdir(parents=True, exist_ok=True)
        if (out / "metrics.json").exists():
            try:
                result.metrics[m] = checkpoint.read_json(out / "metrics.json")
                report("baselines", i, len(models))
                continue
            except DamagedFile as exc:
                note(f"{exc}: {m} is trained (or resumed) and scored again")
        model = registry.make_model(m, tuple(kept), epochs=config["epochs"], batch_size=config["batch_size"],
                                    lr=config["lr"], seed=config["seed"], input_size=config["input_size"],
                                    workers=config["workers"], window=config["window"])
        epoch_log = EpochLog(out / "log.jsonl")
        t0 = time.perf_counter()

        def log(epoch_log: EpochLog = epoch_log, t0: float = t0, **row: Any) -> None:
            epoch_log(time=round(time.perf_counter() - t0, 3), **row)

        model.fit(ws, train, val, out, log, note)
        thresholds = None
        if "au" in kept and val is not None and val.au_mask.any():
            vp = model.predict(ws, val)
            if vp.au is not None:
                thresholds = tune_thresholds(val.au, vp.au, val.au_mask)
        metrics = evaluate(test, model.predict(ws, test), tuple(kept), thresholds)
        metrics["abaw"] = abaw_scores(metrics)
        metrics["model"] = model.describe()
        metrics["seconds"] = round(time.perf_counter() - t0, 2)
        if thresholds is not None:
            metrics["au_thresholds"] = dict(zip(index.aus, thresholds.tolist(), strict=True))
        throughput = model.throughput()
        if throughput is not None:
            metrics["throughput"] = result.timing[m] = throughput
        io.write_json(out / "metrics.json", metrics)
        result.metrics[m] = metrics
        report("baselines", i, len(models))
    table = benchmark_table(result.metrics)
    io.write_text(run / "benchmark.md", _markdown(table, config, test_split=_test_name(parts)))
    io.write_json(run / "benchmark.json", {"config": config, "rows": table.to_dict("records")})
    io.write_text(run / "MODEL_CARD.md", model_card(ws, config, kept, result, parts))
    _all_runs(ws, note)
    return result


def _test_name(parts: dict[str, np.ndarray]) -> str:
    return "test" if len(parts["test"]) else "val" if len(parts["val"]) else "train (no held-out split)"


COLUMNS = [("au", "f1_mean", "AU mean F1"), ("expr", "accuracy", "EXPR acc"), ("expr", "f1_macro", "EXPR macro-F1"),
           ("expr", "f1_weighted", "EXPR weighted-F1"), ("va", "ccc_valence", "CCC V"), ("va", "ccc_arousal", "CCC A"),
           ("va", "ccc_mean", "CCC mean"), ("va", "rmse_mean", "RMSE"), ("va", "sagr_mean", "SAGR")]


def benchmark_table(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for m, met in metrics.items():
        row: dict[str, Any] = {"model": m}
        for task, key, label in COLUMNS:
            v = met.get(task, {}).get(key)
            if v is not None:
                row[label] = round(float(v), 4)
        row["seconds"] = met.get("seconds")
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame, config: dict[str, Any], test_split: str) -> str:
    return (f"# Baselines\n\nScored on the **{test_split}** split; epochs {config['epochs']}, seed {config['seed']}."
            f"\n\n{table.to_markdown(index=False, floatfmt='.3f')}\n")


def _all_runs(ws: Workspace, note: Callable[[str], None]) -> None:
    """``runs/benchmark.md``: every run's baselines side by side."""
    frames = []
    for p in sorted(ws.runs_dir.glob("[!.]*/benchmark.json")):  # not the temporaries of a run being replaced
        try:
            saved = checkpoint.read_json(p).get("rows")
            if not isinstance(saved, list) or not all(isinstance(r, dict) for r in saved):
                raise DamagedFile(p, "no list of rows")
        except DamagedFile as exc:
            note(f"{exc}: left out of {ws.runs_dir / 'benchmark.md'}")
            continue
        rows = pd.DataFrame(saved)
        rows.insert(0, "run", p.parent.name)
        frames.append(rows)
    if frames:
        t = pd.concat(frames, ignore_index=True)
        order = ["run", "model"] + [label for _, _, label in COLUMNS] + ["seconds"]
        t = t[[c for c in order if c in t.columns]]
        io.write_text(ws.runs_dir / "benchmark.md", "# All baseline runs\n\n" + t.to_markdown(index=False,
                                                                                            floatfmt=".3f") + "\n")
        io.write_json(ws.runs_dir / "benchmark.json", t.to_dict("records"))


def model_card(ws: Workspace, config: dict[str, Any], tasks: list[str], result: TrainResult,
               parts: dict[str, np.ndarray]) -> str:
    s = ws.settings
    lines = [
        f"# Model card: {result.run_dir.name}", "",
        "## What", f"Baselines {', '.join(config['models'])} for the tasks {', '.join(tasks)} "
        f"(skipped: {', '.join(result.skipped_tasks) or 'none'}), trained from scratch on the aligned "
        f"{s.faces.crop_size}×{s.faces.crop_size} crops of this workspace, resized to {config['input_size']}.", "",
        "## Data", f"Frames: train {len(parts['train'])}, validation {len(parts['val'])}, test {len(parts['test'])};"
        " splits are subject-independent (splits.parquet).",
        f"AUs: {', '.join(s.labels.aus)}. Expressions: {', '.join(s.labels.expressions)}.", "",
        "## Training", f"Epochs {config['epochs']}, batch {config['batch_size']}, learning rate {config['lr']}, "
        f"seed {config['seed']}. Losses: AU binary cross-entropy, expression class-weighted cross-entropy, "
        "valence-arousal 1 − CCC. Best epoch by the validation score; AU thresholds tuned on validation.", "",
        "## Results", benchmark_table(result.metrics).to_markdown(index=False, floatfmt=".3f"), "",
        "## Limits", "Small models trained on one workspace: a measure of how learnable the labels are, not a "
        "product. Scores on few subjects vary a lot between splits.", "",
    ]
    return "\n".join(lines)
