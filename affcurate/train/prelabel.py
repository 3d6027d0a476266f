"""One video's pre-labels: a trained model's outputs on the video's crops with a per-frame confidence, as the
tables ``affcurate predict`` writes. :func:`predict_video` is the per-video work that
:mod:`affcurate.train.predict` hands the executor (a local pool or Ray); it reads and computes, the caller writes.

Every table has one row per frame of the video's 30 fps grid; a frame without a crop of the subject's face has
empty values (the model saw no face there). The ``confidence`` column (0-1, empty where there is no face) says
how sure the model is of that frame:

- ``au``: the least sure of the AUs written, each by its probability's distance to its threshold ``t`` (tuned
  on validation, else 0.5), scaled to 0-1 on its side: ``(p - t) / (1 - t)`` when present, ``(t - p) / t`` when
  absent; 0 means undecided;
- ``expr``: the probability of the class predicted (the prior: the share of its class in the train labels);
- ``va``: ``1 - d`` for the largest ``d`` (at most 1) of the dimensions written, where ``d`` is how far the
  output may be off: for ``cnn``, ``cnn-gru`` and ``linear`` how far it moves when the face is mirrored left to
  right (a model sure of what it sees says the same of both), for ``prior`` the spread (standard deviation) of the
  train labels.

A model gives no confidence it cannot compute (a plugged-in baseline without ``expr_prob`` or ``va_spread``):
the column is then empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import torch

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.labels.model import CONFIDENCE
from affcurate.labels.table import nullable_int8
from affcurate.media.probe import file_sha256
from affcurate.train import registry
from affcurate.train.base import Baseline, Predictions
from affcurate.train.data import Index
from affcurate.train.metrics import DIMS
from affcurate.workspace import Workspace, stage_key

VERSION = 1  # of what a table holds; part of every table's key, so a change here redoes the tables


@dataclass(frozen=True)
class Target:
    """A trained model and what is written of it: everything a worker needs, picklable."""

    root: str
    run: str
    model: str
    fold: int | None
    folder: str                   # runs/<run>[/fold-<k>]/<model>
    settings: dict[str, Any]      # the run's settings the model is built with
    trained: tuple[str, ...]      # the run's trained tasks
    aus: tuple[str, ...]          # the model's AU outputs, in order
    written_aus: tuple[str, ...]  # of them, the AUs that had train labels
    va_dims: tuple[str, ...]      # the VA dimensions that had train labels
    thresholds: tuple[float, ...]
    n_expr: int
    key: str                      # of the model's files: a retrained model writes new tables
    annotator: str


_LOADED: dict[str, Baseline] = {}  # per process: a pool worker loads the model once for all its videos


def load_model(t: Target) -> Baseline:
    """The model of ``t`` with its fitted state, or one line saying why it cannot be read back."""
    if t.key not in _LOADED:
        m = registry.make_model(t.model, t.trained, **{**t.settings, "workers": 0})
        m.restore(Path(t.folder), list(t.aus), t.n_expr)
        _LOADED.clear()
        _LOADED[t.key] = m
    return _LOADED[t.key]


def video_key(ws: Workspace, t: Target, video_id: str) -> str:
    """What the tables of one video depend on: the model, the video's crops and its grid."""
    return stage_key(VERSION, t.key, file_sha256(ws.crops_path(video_id))[:16],
                     file_sha256(ws.frames_path(video_id))[:16])


def is_current(ws: Workspace, t: Target, video_id: str, task: str, key: str) -> bool:
    path = ws.annotation_path(t.annotator, task, video_id)
    try:
        return path.exists() and io.parquet_metadata(path).get("extra", {}).get("key") == key
    except (OSError, ValueError):
        return False  # an unreadable table is written again


@contextmanager
def _one_thread() -> Iterator[None]:
    # the same outputs on every executor: a sum split over threads may round otherwise
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def unlabelled_index(video_id: str, frames: np.ndarray, aus: tuple[str, ...], n_expr: int) -> Index:
    """Every crop of one video as an :class:`Index` without labels (what the baselines predict on)."""
    n, a = len(frames), len(aus)
    table = pd.DataFrame({"video_id": video_id, "crop": np.arange(n), "frame": frames.astype(np.int64),
                          "split": "", "fold": -1})
    return Index(table, list(aus), n_expr, np.zeros((n, a), np.float32), np.zeros((n, a), bool),
                 np.full(n, -1, np.int64), np.zeros((n, 2), np.float32), np.zeros((n, 2), bool))


def au_confidence(prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row, the least sure AU's distance from its threshold, 0 (undecided) to 1 (see the module)."""
    if prob.shape[1] == 0:
        return np.full(len(prob), np.nan)
    t = np.clip(np.asarray(thresholds, np.float64), 1e-6, 1 - 1e-6)
    sure = np.where(prob >= t, (prob - t) / (1 - t), (t - prob) / t)
    return np.clip(sure.min(1), 0, 1)


def expr_confidence(prob: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, np.nan) if prob is None else np.clip(np.asarray(prob, np.float64).max(1), 0, 1)


def va_confidence(spread: np.ndarray | None, dims: list[int], n: int) -> np.ndarray:
    if spread is None or not dims:
        return np.full(n, np.nan)
    return 1 - np.clip(np.asarray(spread, np.float64)[:, dims].max(1), 0, 1)


def _needs(pred: Predictions, task: str, model: str) -> np.ndarray:
    values = {"au": pred.au, "expr": pred.expr, "va": pred.va}[task]
    if values is None:
        raise AffcurateError(f"model {model} gives no {task} outputs")
    return np.asarray(values)


def tables(t: Target, pred: Predictions, frames: np.ndarray, n: int, tasks: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The table of each task on the ``n`` frames of the grid, from the outputs on the crops at ``frames``."""
    at = frames.astype(np.int64)
    out: dict[str, pd.DataFrame] = {}

    def column(values: np.ndarray, discrete: bool = False) -> Any:
        full = np.full(n, np.nan)
        full[at] = values
        return nullable_int8(full) if discrete else full

    for task in tasks:
        values = _needs(pred, task, t.model)
        data: dict[str, Any] = {"frame": np.arange(n, dtype=np.int64)}
        if task == "au":
            js = [t.aus.index(a) for a in t.written_aus]
            thr = np.asarray(t.thresholds, np.float64)[js]
            prob = values[:, js].astype(np.float64)
            for k, a in enumerate(t.written_aus):
                data[a] = column((prob[:, k] >= thr[k]).astype(np.float64), True)
            conf = au_confidence(prob, thr)
        elif task == "expr":
            data["expr"] = column(values.astype(np.float64), True)
            conf = expr_confidence(pred.expr_prob, len(at))
        else:
            dims = [DIMS.index(d) for d in t.va_dims]
            for j, d in enumerate(DIMS):
                data[d] = column(np.clip(values[:, j].astype(np.float64), -1, 1)) if j in dims else np.full(n, np.nan)
            conf = va_confidence(pred.va_spread, dims, len(at))
        data[CONFIDENCE] = column(conf)
        out[task] = pd.DataFrame(data)
    return out


def predict_video(item: tuple[Target, str, tuple[str, ...]]) -> dict[str, Any]:
    """The tables of one video for the tasks asked (``tables``) but those already written by this model on
    these crops (``unchanged``), and the ``key`` they are written with."""
    t, video_id, tasks = item
    ws = Workspace.open(t.root)
    key = video_key(ws, t, video_id)
    fresh = tuple(task for task in tasks if not is_current(ws, t, video_id, task, key))
    done = {"video_id": video_id, "key": key, "unchanged": [x for x in tasks if x not in fresh], "tables": {}}
    if not fresh:
        return done
    n = len(ws.frame_map(video_id))
    with h5py.File(ws.crops_path(video_id), "r") as h5:
        frames = h5["frames"][:].astype(np.int64)
    model = load_model(t)
    with _one_thread():
        pred = model.predict_labels(ws, unlabelled_index(video_id, frames, t.aus, t.n_expr))
    on_grid = (frames >= 0) & (frames < n)  # a crop past the grid's end (it should have none) is left out
    pred = Predictions(*(None if v is None else np.asarray(v)[on_grid] for v in
                         (pred.au, pred.expr, pred.va, pred.expr_prob, pred.va_spread)))
    done["tables"] = tables(t, pred, frames[on_grid], n, fresh)
    return done
