"""`affcurate train-baseline`: fit every chosen baseline on the train split, pick thresholds and checkpoints on
validation, score on test, and write the run: config, per-epoch log, best checkpoint, metrics, a benchmark
table comparing the baselines (Markdown and JSON) and a model card.

Cross-validation (``folds=True``, ``--folds``, seed 004's subject-independent protocol) on a split with K
folds trains and scores every fold k in its own folder ``runs/<run>/fold-<k>/``: test = fold k, validation =
the next fold (k + 1 mod K), or none with ``validation=False`` (``--no-val``), train = the other folds. The
run's tables give each metric's mean ± standard deviation over the folds and every fold's row.

Without validation frames (``--no-val``, or a split without a validation part) the torch baselines keep their
last epoch and AU thresholds stay at 0.5."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import Progress, current_progress
from affcurate.names import check_name
from affcurate.train import card, chance, checkpoint, frontends, registry, runs
from affcurate.train.base import Predictions
from affcurate.train.benchmark import summarise
from affcurate.train.checkpoint import DamagedFile, EpochLog
from affcurate.train.data import Index, build_index, fold_parts, split_parts
from affcurate.train.deep import TorchBaseline
from affcurate.train.metrics import abaw_scores, au_metrics, expr_metrics, tune_thresholds, va_metrics
from affcurate.train.weights import va_bin_table
from affcurate.workspace import Workspace

TASKS = ("au", "expr", "va")


@dataclass
class TrainResult:
    """Where the run was written and its scores: per model (of a cross-validated run: the mean over the folds,
    with ``std``, ``counts`` (folds where each metric was computable) and every fold's scores in ``folds``)."""

    run_dir: Path
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_tasks: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # one line each: skipped tasks, damaged files started again
    folds: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    std: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Part:
    """One training of every model: the whole run (``fold`` None) or one fold of a cross-validated run."""

    fold: int | None
    rows: dict[str, np.ndarray]          # train / val / test → rows of the index
    val_fold: int | None = None

    def folder(self, run: Path) -> Path:
        return run if self.fold is None else run / f"fold-{self.fold}"

    def where(self) -> str:
        return "the train split" if self.fold is None else f"the train part of fold {self.fold}"


def _has_task(index: Index, task: str) -> bool:
    if task == "au":
        return bool(index.au_mask.any())
    if task == "expr":
        return bool((index.expr >= 0).any())
    return bool(index.va_mask.any())


def evaluate(index: Index, pred: Predictions | None, tasks: tuple[str, ...], thresholds: np.ndarray | None,
             part: str = "test") -> dict[str, dict[str, Any]]:
    """Every metric of ``tasks`` on ``index`` (None, with the reason, where it cannot be computed)."""
    out: dict[str, dict[str, Any]] = {}
    n = len(index)
    if "au" in tasks:
        prob = pred.au if pred is not None and pred.au is not None else np.zeros(index.au.shape)
        out["au"] = au_metrics(index.au, prob, index.au_mask, index.aus, thresholds, part)
    if "expr" in tasks:
        e = index.expr >= 0
        guess = pred.expr if pred is not None and pred.expr is not None else np.zeros(n, np.int64)
        out["expr"] = expr_metrics(index.expr[e], np.asarray(guess)[e], index.n_expr, part)
    if "va" in tasks:
        va = pred.va if pred is not None and pred.va is not None else np.zeros((n, 2))
        out["va"] = va_metrics(index.va, va, index.va_mask, part)
    return out


def train_baseline(ws: Workspace, models: list[str] | tuple[str, ...] | None = None,
                   tasks: list[str] | tuple[str, ...] | None = None, epochs: int | None = None,
                   seed: int | None = None, batch_size: int | None = None, lr: float | None = None,
                   name: str | None = None, progress: Progress | None = None,
                   on_note: Callable[[str], None] | None = None, overwrite: bool = False,
                   folds: bool = False, validation: bool = True, backbone: str | None = None) -> TrainResult:
    """Train and benchmark baselines on the curated workspace; returns where the run was written. The same
    arguments give the same run folder, so an interrupted run resumes. A ``name`` already used with other
    settings, labels or splits is refused, unless ``overwrite`` replaces that run with a fresh one.

    ``folds``: cross-validate over the folds of splits.parquet (``affcurate split --folds K``); each fold k
    is tested on fold k and validated on fold k + 1 (mod K), or not validated with ``validation=False``
    (whose validation frames are then trained on, also in a run without folds). ``train.va_bins`` > 0
    weights each training frame's VA loss by its valence-arousal bin (:mod:`affcurate.train.weights`).
    ``backbone`` (``resnet18:FILE`` or ``onnx:FILE``, :mod:`affcurate.train.backbone`) starts ``cnn`` and
    ``cnn-gru`` from a pretrained network on disk; the file's path and content hash are part of the run.

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
    torch_models = [n for n, cls in registry.BASELINES.items() if issubclass(cls, TorchBaseline)]
    if backbone is not None and not set(models) & set(torch_models):
        raise AffcurateError(f"--backbone is for the torch baselines ({', '.join(torch_models)}); --models has "
                             f"none of them ({', '.join(models)})")
    chosen = frontends.check(backbone, s.input_size, ws.settings.faces.crop_size)  # read before anything is written
    config = {"models": list(models), "tasks": list(tasks), "epochs": epochs or s.epochs, "seed": s.seed if seed is
              None else seed, "batch_size": batch_size or s.batch_size, "lr": lr or s.lr, "window": s.window,
              "input_size": s.input_size, "workers": s.workers, "va_bins": s.va_bins, "folds": 0,
              "validation": bool(validation), "trainer": runs.TRAINER, **chosen}
    # one writer at a time: the checkpoints, runs/benchmark.md and the stale temporaries are this run's
    with ws.writing("affcurate train-baseline"):
        return _train(ws, config, name, progress, on_note, overwrite, folds)


def _parts(ws: Workspace, index: Index, folds: bool, validation: bool) -> list[Part]:
    """What each training uses; refuses, naming the fix, a split that cannot be trained on."""
    if not folds:
        return [Part(None, split_parts(index.table["split"].to_numpy(), validation))]
    fold = index.table["fold"].to_numpy()
    ids = sorted({int(f) for f in io.read_parquet(ws.splits_path).get("fold", []) if f == f})
    if (fold < 0).any() or not ids:
        raise AffcurateError(f"{ws.splits_path} has no folds: run `affcurate split {ws.root} --folds K` to "
                             "cross-validate, or train without --folds")
    if len(ids) < 2:
        raise AffcurateError(f"{ws.splits_path} has 1 fold: cross-validation needs at least 2")
    out = []
    for i, k in enumerate(ids):
        v = ids[(i + 1) % len(ids)] if validation else None
        p = Part(k, fold_parts(fold, k, v), v)
        if not len(p.rows["train"]):
            hint = "; with 2 folds, train with --no-val (validation=False)" if len(ids) == 2 and validation else ""
            raise AffcurateError(f"fold {k} leaves no labelled crops to train on (test: fold {k}, validation: "
                                 f"{'none' if v is None else f'fold {v}'}){hint}")
        out.append(p)
    return out


def _train(ws: Workspace, config: dict[str, Any], name: str | None, progress: Progress | None,
           on_note: Callable[[str], None] | None, overwrite: bool, folds: bool) -> TrainResult:
    models, tasks = config["models"], config["tasks"]
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    index = build_index(ws)
    parts = _parts(ws, index, folds, config["validation"])
    subject_of = _subjects_of(ws)
    if folds:
        config["folds"] = len(parts)
    elif len(parts[0].rows["train"]) == 0:
        raise AffcurateError("no labelled crops in the train split: check `affcurate split` and `affcurate merge`")
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
        lacking = [p for p in parts if not _has_task(index.subset(p.rows["train"]), t)]
        if not lacking:
            kept.append(t)
            continue
        every = " in every fold" if folds else ""
        note(f"task {t} has no labelled frames in {lacking[0].where()}: skipped{every}")
        result.skipped_tasks.append(t)
    if not kept:
        raise AffcurateError(f"none of the tasks {', '.join(tasks)} has labelled train frames")
    runs.claim(ws, run, {**config, "data": data}, overwrite)
    written = {**config, "data": data, "tasks_trained": kept}
    if folds:
        written["frames"] = {f"fold-{p.fold}": _frames(p) for p in parts}
    else:
        written["frames"] = _frames(parts[0])
        written["subjects"] = _about(index, parts[0], subject_of)["subjects"]
        if config["va_bins"] and "va" in kept:
            train = index.subset(parts[0].rows["train"])
            written["va_bins_table"] = va_bin_table(train.va, train.va_mask, config["va_bins"])
    io.write_json(run / "config.json", written)
    report = progress or current_progress()
    total = len(models) * len(parts)
    report("baselines", 0, total)
    done = 0
    for p in parts:
        out = p.folder(run)
        if p.fold is not None:
            io.write_json(out / "config.json", _fold_config(index, p, kept, config))

        def tick() -> None:
            nonlocal done
            done += 1
            report("baselines", done, total)

        scores = _fit_models(ws, out, index, p, kept, config, result, note, tick)
        if p.fold is None:
            result.metrics = scores
        else:
            result.folds.append(scores)
    if folds:
        result.metrics, result.std, result.counts = summarise(result.folds)
    about = [{**_about(index, p, subject_of), "chance": chance.levels(index.subset(p.rows[_scored(p)[0]]), kept)}
             for p in parts]
    card.write(ws, run, config, kept, result, about,
               _test_name(parts[0].rows) if not folds else "test", note)
    return result


def _frames(p: Part) -> dict[str, int]:
    return {k: int(len(v)) for k, v in p.rows.items()}


def _subjects_of(ws: Workspace) -> dict[str, str]:
    """video_id → subject, from splits.parquet (empty when it has no subject column)."""
    splits = io.read_parquet(ws.splits_path)
    if "subject" not in splits.columns:
        return {}
    return dict(zip(splits["video_id"].astype(str), splits["subject"].astype(str), strict=True))


def _about(index: Index, p: Part, subject_of: dict[str, str]) -> dict[str, Any]:
    """Fold, validation fold, and frames and subjects per part, for the tables and the model card."""
    vids = index.table["video_id"].to_numpy()
    subjects = ({k: len({subject_of.get(v, v) for v in vids[r]}) for k, r in p.rows.items()} if subject_of
                else {})
    return {"fold": p.fold, "val_fold": p.val_fold, "frames": _frames(p), "subjects": subjects}


def _fold_config(index: Index, p: Part, kept: list[str], config: dict[str, Any]) -> dict[str, Any]:
    """What fold ``p`` is: its folds and videos per part, frames, and its VA-bin pairs with their frames and weights."""
    vids = index.table["video_id"].to_numpy()
    out: dict[str, Any] = {"fold": p.fold, "test_fold": p.fold, "validation_fold": p.val_fold,
                           "frames": _frames(p),
                           "videos": {k: sorted(set(vids[v].tolist())) for k, v in p.rows.items()}}
    if config["va_bins"] and "va" in kept:
        train = index.subset(p.rows["train"])
        out["va_bins_table"] = va_bin_table(train.va, train.va_mask, config["va_bins"])
    return out


def _fit_models(ws: Workspace, folder: Path, index: Index, p: Part, kept: list[str], config: dict[str, Any],
                result: TrainResult, note: Callable[[str], None], tick: Callable[[], None]
                ) -> dict[str, dict[str, Any]]:
    """Fit and score every model on part ``p`` in ``folder``; a model whose metrics.json is there is done."""
    train = index.subset(p.rows["train"])
    val = index.subset(p.rows["val"]) if len(p.rows["val"]) else None
    part, scored_on = _scored(p)
    test = index.subset(p.rows[part])
    scores: dict[str, dict[str, Any]] = {}
    for m in config["models"]:
        out = folder / m
        out.mkdir(parents=True, exist_ok=True)
        if (out / "metrics.json").exists():
            try:
                scores[m] = checkpoint.read_json(out / "metrics.json")
                tick()
                continue
            except DamagedFile as exc:
                note(f"{exc}: {m} is trained (or resumed) and scored again")
        model = registry.make_model(m, tuple(kept), epochs=config["epochs"], batch_size=config["batch_size"],
                                    lr=config["lr"], seed=config["seed"], input_size=config["input_size"],
                                    workers=config["workers"], window=config["window"], va_bins=config["va_bins"],
                                    backbone=config["backbone"])
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
        pred = model.predict(ws, test) if len(test) else None
        metrics: dict[str, Any] = evaluate(test, pred, tuple(kept), thresholds, scored_on)
        metrics["abaw"] = abaw_scores(metrics)
        metrics["model"] = model.describe()
        metrics["trained_on"] = trained_on(train)
        metrics["seconds"] = round(time.perf_counter() - t0, 2)
        if thresholds is not None:
            metrics["au_thresholds"] = dict(zip(index.aus, thresholds.tolist(), strict=True))
        throughput = model.throughput()
        if throughput is not None:
            metrics["throughput"] = result.timing[m] = throughput
        io.write_json(out / "metrics.json", metrics)
        scores[m] = metrics
        tick()
    return scores


def trained_on(train: Index) -> dict[str, list[Any]]:
    """The outputs of a model (``aus``: its AU outputs, in order) and which of them had train labels: what
    ``affcurate predict`` writes of it (an output never trained says nothing)."""
    return {"aus": list(train.aus), "au": [a for j, a in enumerate(train.aus) if train.au_mask[:, j].any()],
            "expr": sorted({int(e) for e in train.expr[train.expr >= 0]}),
            "va": [d for j, d in enumerate(("valence", "arousal")) if train.va_mask[:, j].any()]}


def _scored(p: Part) -> tuple[str, str]:
    """The part the models are scored on, and its name in the tables' reasons; a run without a test split is
    scored on what it has, and its table says which."""
    if len(p.rows["test"]) or p.fold is not None:
        return "test", "test"
    return ("val", "validation") if len(p.rows["val"]) else ("train", "train")


def _test_name(parts: dict[str, np.ndarray]) -> str:
    return "test" if len(parts["test"]) else "val" if len(parts["val"]) else "train (no held-out split)"
