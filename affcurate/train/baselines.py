"""Baselines behind one small interface: ``fit(train, val)`` then ``predict(index)``.

- ``prior``: majority class, AU base rates, mean VA (the floor every table shows);
- ``linear``: logistic / ridge regression on landmark geometry (faces table) and HOG of the crop;
- ``cnn``: a small multi-task CNN trained from scratch (AU: BCE, EXPR: class-weighted CE, VA: 1 − CCC);
- ``cnn-gru``: the same CNN's features over short windows of frames with a GRU head.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from affcurate import io
from affcurate.train.data import CropDataset, Index
from affcurate.workspace import Workspace

MODELS = ("prior", "linear", "cnn", "cnn-gru")


@dataclass
class Predictions:
    au: np.ndarray | None = None      # (N, A) probabilities
    expr: np.ndarray | None = None    # (N,) class
    va: np.ndarray | None = None      # (N, 2)


class Prior:
    name = "prior"

    def __init__(self, tasks: tuple[str, ...], **_: Any):
        self.tasks = tasks

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None]) -> None:
        m = train.au_mask
        self.rates = np.where(m.sum(0) > 0, (train.au * m).sum(0) / np.maximum(m.sum(0), 1), 0.0)
        e = train.expr[train.expr >= 0]
        self.majority = int(np.bincount(e, minlength=train.n_expr).argmax()) if len(e) else 0
        vm = train.va_mask
        self.va_mean = np.where(vm.sum(0) > 0, (train.va * vm).sum(0) / np.maximum(vm.sum(0), 1), 0.0)
        io.write_json(out / "prior.json", {"au_rates": self.rates.tolist(), "expr": self.majority,
                                           "va_mean": self.va_mean.tolist()})

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        n = len(index)
        return Predictions(np.repeat(self.rates[None], n, 0), np.full(n, self.majority),
                           np.repeat(self.va_mean[None], n, 0))


def _geometry(ws: Workspace, index: Index) -> np.ndarray:
    """Landmarks of the subject normalised by eye position and distance (translation/scale free)."""
    out = np.zeros((len(index), 10), np.float32)
    for vid, rows in index.table.groupby("video_id", sort=False).groups.items():
        faces = io.read_parquet(ws.faces_path(vid))
        t = faces[faces["is_target"]].drop_duplicates("frame").set_index("frame")["landmarks"]
        frames = index.table.loc[rows, "frame"].to_numpy()
        for r, f in zip(rows, frames, strict=True):
            if f in t.index:
                lm = np.stack([np.asarray(q, np.float32) for q in t.loc[f]])[:5]
                c = lm[:2].mean(0)
                d = max(float(np.linalg.norm(lm[1] - lm[0])), 1e-3)
                out[r] = ((lm - c) / d).ravel()
    return out


def hog(gray: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Histogram of oriented gradients: unsigned orientations in ``bins`` per ``cell``×``cell`` cell,
    L2-normalised over 2×2-cell blocks (Dalal and Triggs)."""
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=1)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.degrees(np.arctan2(gy, gx)), 180.0)
    b = np.minimum((ang / (180.0 / bins)).astype(int), bins - 1)
    h, w = g.shape[0] // cell, g.shape[1] // cell
    hist = np.zeros((h, w, bins), np.float32)
    cy = np.arange(h * cell) // cell
    cx = np.arange(w * cell) // cell
    np.add.at(hist, (cy[:, None], cx[None, :], b[: h * cell, : w * cell]), mag[: h * cell, : w * cell])
    blocks = np.concatenate([hist[:-1, :-1], hist[1:, :-1], hist[:-1, 1:], hist[1:, 1:]], -1)
    blocks /= np.sqrt((blocks**2).sum(-1, keepdims=True) + 1e-6)
    return blocks.ravel()


def _hog(ds: CropDataset) -> np.ndarray:
    feats = []
    for vid, crop in zip(ds._vid, ds._crop, strict=True):
        img = cv2.cvtColor(ds.image(vid, int(crop)), cv2.COLOR_RGB2GRAY)
        feats.append(hog(cv2.resize(img, (64, 64))))
    return np.asarray(feats, np.float32)


class Linear:
    name = "linear"

    def __init__(self, tasks: tuple[str, ...], **_: Any):
        self.tasks = tasks

    def _x(self, ws: Workspace, index: Index) -> np.ndarray:
        ds = CropDataset(ws, index, 64)
        x = np.concatenate([_geometry(ws, index), _hog(ds)], 1)
        ds.close()
        return x

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None]) -> None:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = self._x(ws, train)
        self.au_models: list[Any] = []
        for j in range(train.au.shape[1]):
            m = train.au_mask[:, j]
            y = train.au[m, j]
            if "au" in self.tasks and m.sum() and 0 < y.sum() < len(y):
                clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced", C=0.1))
                self.au_models.append(clf.fit(x[m], y))
            else:
                self.au_models.append(float(y.mean()) if m.sum() else 0.0)
        e = train.expr >= 0
        self.expr_model: Any = None
        if "expr" in self.tasks and e.sum() and len(np.unique(train.expr[e])) > 1:
            self.expr_model = make_pipeline(StandardScaler(), LogisticRegression(
                max_iter=500, class_weight="balanced", C=0.1)).fit(x[e], train.expr[e])
        self.expr_const = int(np.bincount(train.expr[e], minlength=train.n_expr).argmax()) if e.sum() else 0
        vm = train.va_mask.all(1)
        self.va_model: Any = None
        if "va" in self.tasks and vm.sum() > 1:
            self.va_model = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[vm], train.va[vm])
        log(epoch=1, train_frames=len(train))

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        x = self._x(ws, index)
        n = len(index)
        au = np.stack([m.predict_proba(x)[:, 1] if hasattr(m, "predict_proba") else np.full(n, m)
                       for m in self.au_models], 1) if self.au_models else np.zeros((n, 0))
        expr = self.expr_model.predict(x) if self.expr_model is not None else np.full(n, self.expr_const)
        va = np.clip(self.va_model.predict(x), -1, 1) if self.va_model is not None else np.zeros((n, 2))
        return Predictions(au, np.asarray(expr, int), va)


class SmallCNN(nn.Module):
    """Four conv blocks and global pooling: about 60k parameters, fast enough to train on a laptop CPU."""

    def __init__(self, n_au: int, n_expr: int, width: int = 32):
        super().__init__()
        chans = [3, width // 2, width, 2 * width, 2 * width]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dim = chans[-1]
        self.heads = Heads(self.dim, n_au, n_expr)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.embed(x))


class Heads(nn.Module):
    def __init__(self, dim: int, n_au: int, n_expr: int):
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.au = nn.Linear(dim, max(n_au, 1))
        self.expr = nn.Linear(dim, n_expr)
        self.va = nn.Linear(dim, 2)

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.drop(h)
        return {"au": self.au(h), "expr": self.expr(h), "va": torch.tanh(self.va(h))}


class CNNGRU(nn.Module):
    """The CNN's per-frame features over a window, a GRU, and the task heads on the last step."""

    def __init__(self, n_au: int, n_expr: int, width: int = 32, hidden: int = 64):
        super().__init__()
        self.cnn = SmallCNN(n_au, n_expr, width)
        self.gru = nn.GRU(self.cnn.dim, hidden, batch_first=True)
        self.heads = Heads(hidden, n_au, n_expr)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t = x.shape[:2]
        h = self.cnn.embed(x.flatten(0, 1)).view(b, t, -1)
        out, _ = self.gru(h)
        return self.heads(out[:, -1])


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 − CCC per dimension over the batch's labelled frames (seeds 001 and 003), averaged."""
    losses = []
    for j in range(pred.shape[1]):
        m = mask[:, j]
        if m.sum() < 2:
            continue
        p, t = pred[m, j], target[m, j]
        pm, tm = p.mean(), t.mean()
        cov = ((p - pm) * (t - tm)).mean()
        c = 2 * cov / (p.var(unbiased=False) + t.var(unbiased=False) + (pm - tm) ** 2 + 1e-8)
        losses.append(1 - c)
    return torch.stack(losses).mean() if losses else pred.sum() * 0


class TorchBaseline:
    """Training loop shared by ``cnn`` and ``cnn-gru``: per-epoch log and checkpoint, best by validation,
    resumable, deterministic for a seed."""

    name = "cnn"
    window = 1

    def __init__(self, tasks: tuple[str, ...], epochs: int = 5, batch_size: int = 64, lr: float = 1e-3,
                 seed: int = 0, input_size: int = 64, workers: int = 0, window: int = 5, **_: Any):
        self.tasks, self.epochs, self.batch_size, self.lr = tasks, epochs, batch_size, lr
        self.seed, self.size, self.workers = seed, input_size, workers
        if self.name == "cnn-gru":
            self.window = window
        self.timing = {"load": 0.0, "step": 0.0, "images": 0}

    def build(self, n_au: int, n_expr: int) -> nn.Module:
        return SmallCNN(n_au, n_expr) if self.window == 1 else CNNGRU(n_au, n_expr)

    def _loader(self, ws: Workspace, index: Index, shuffle: bool) -> DataLoader:
        ds = CropDataset(ws, index, self.size, self.window)
        g = torch.Generator().manual_seed(self.seed)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.workers, generator=g,
                          persistent_workers=False)

    def _loss(self, out: dict[str, torch.Tensor], b: dict[str, torch.Tensor], expr_w: torch.Tensor) -> torch.Tensor:
        total = out["va"].sum() * 0
        if "au" in self.tasks and b["au_mask"].any():
            m = b["au_mask"].float()
            bce = nn.functional.binary_cross_entropy_with_logits(out["au"][:, : m.shape[1]], b["au"], reduction="none")
            total = total + (bce * m).sum() / m.sum()
        if "expr" in self.tasks and (b["expr"] >= 0).any():
            total = total + nn.functional.cross_entropy(out["expr"], b["expr"], weight=expr_w, ignore_index=-1)
        if "va" in self.tasks and b["va_mask"].any():
            total = total + ccc_loss(out["va"], b["va"], b["va_mask"])
        return total

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None]) -> None:
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        self.n_au = train.au.shape[1]
        self.model = self.build(self.n_au, train.n_expr)
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        counts = np.bincount(train.expr[train.expr >= 0], minlength=train.n_expr).astype(np.float64)
        expr_w = torch.tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max((counts > 0).sum(), 1),
                                       0.0), dtype=torch.float32)
        start, best = 0, -math.inf
        last = out / "last.pt"
        if last.exists():  # resume an interrupted run
            state = torch.load(last, weights_only=True)
            self.model.load_state_dict(state["model"])
            opt.load_state_dict(state["optim"])
            start, best = int(state["epoch"]) + 1, float(state["best"])
            torch.set_rng_state(state["rng"])
        loader = self._loader(ws, train, shuffle=True)
        for epoch in range(start, self.epochs):
            self.model.train()
            losses = []
            t_load = time.perf_counter()
            for b in loader:
                t0 = time.perf_counter()
                self.timing["load"] += t0 - t_load
                opt.zero_grad()
                loss = self._loss(self.model(b["x"]), b, expr_w)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                t_load = time.perf_counter()
                self.timing["step"] += t_load - t0
                self.timing["images"] += len(b["x"]) * self.window
            score = self._validation_score(ws, val if val is not None and len(val) else train)
            if score > best:
                best = score
                torch.save(self.model.state_dict(), out / "best.pt")
            torch.save({"model": self.model.state_dict(), "optim": opt.state_dict(), "epoch": epoch, "best": best,
                        "rng": torch.get_rng_state()}, last)
            log(epoch=epoch + 1, loss=float(np.mean(losses)) if losses else None, val_score=score)
        self.model.load_state_dict(torch.load(out / "best.pt", weights_only=True))

    def _raw(self, ws: Workspace, index: Index) -> dict[str, np.ndarray]:
        self.model.eval()
        outs: dict[str, list[np.ndarray]] = {"au": [], "expr": [], "va": []}
        with torch.no_grad():
            for b in self._loader(ws, index, shuffle=False):
                o = self.model(b["x"])
                outs["au"].append(torch.sigmoid(o["au"][:, : self.n_au]).numpy())
                outs["expr"].append(o["expr"].argmax(1).numpy())
                outs["va"].append(o["va"].numpy())
        return {k: np.concatenate(v) for k, v in outs.items()}

    def _validation_score(self, ws: Workspace, index: Index) -> float:
        from affcurate.train.metrics import au_metrics, expr_metrics, va_metrics

        r = self._raw(ws, index)
        parts = []
        if "au" in self.tasks and index.au_mask.any():
            parts.append(au_metrics(index.au, r["au"], index.au_mask, index.aus)["f1_mean"])
        e = index.expr >= 0
        if "expr" in self.tasks and e.any():
            parts.append(expr_metrics(index.expr[e], r["expr"][e], index.n_expr)["f1_macro"])
        if "va" in self.tasks and index.va_mask.any():
            parts.append(va_metrics(index.va, r["va"], index.va_mask).get("ccc_mean", 0.0))
        parts = [p for p in parts if not np.isnan(p)]
        return float(np.mean(parts)) if parts else 0.0

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        r = self._raw(ws, index)
        return Predictions(r["au"], r["expr"], r["va"])


class CNN(TorchBaseline):
    name = "cnn"


class CNNGRUBaseline(TorchBaseline):
    name = "cnn-gru"


def make_model(name: str, tasks: tuple[str, ...], **kwargs: Any) -> Any:
    from affcurate.errors import AffcurateError

    classes = {"prior": Prior, "linear": Linear, "cnn": CNN, "cnn-gru": CNNGRUBaseline}
    if name not in classes:
        raise AffcurateError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    return classes[name](tasks, **kwargs)


def describe(model: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"name": model.name}
    if isinstance(model, TorchBaseline) and hasattr(model, "model"):
        info["parameters"] = int(sum(p.numel() for p in model.model.parameters()))
    return info


def read_log(path: Path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(x) for x in path.read_text().splitlines()]) if path.exists() else pd.DataFrame()
