"""The two baselines without torch:

- ``prior``: majority class, AU base rates, mean VA (the floor every table shows);
- ``linear``: logistic / ridge regression on landmark geometry (the subject's faces) and HOG of the crop.

The torch baselines ``cnn`` and ``cnn-gru`` live in :mod:`affcurate.train.deep`; all four are listed in
:mod:`affcurate.train.registry` and share the interface of :class:`affcurate.train.base.Baseline`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from affcurate import io
from affcurate.faces.table import FaceTracks
from affcurate.train.base import Baseline, Predictions
from affcurate.train.data import CropDataset, Index
from affcurate.train.weights import va_bin_weights
from affcurate.workspace import Workspace


class Prior(Baseline):
    """Predicts the train split's statistics for every frame: what a model must beat to have learnt anything."""

    name = "prior"

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
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
    """Landmarks of the subject normalised by eye position and distance (translation/scale free); zeros on
    frames without the subject's face."""
    out = np.zeros((len(index), 10), np.float32)
    for vid, rows in index.table.groupby("video_id", sort=False).groups.items():
        target = FaceTracks.read_or_empty(ws, vid).target()  # one row per frame, in frame order
        if not len(target):
            continue
        frames = index.table.loc[rows, "frame"].to_numpy()
        at = np.minimum(np.searchsorted(target.frame, frames), len(target) - 1)
        found = target.frame[at] == frames
        for r, i in zip(rows[found], at[found], strict=True):
            lm = target.landmarks[i][:5]
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


class Linear(Baseline):
    """Per-task linear models on hand-made features: landmark geometry and HOG. With ``va_bins`` > 0 the
    ridge regression of VA weighs each frame by its VA-bin weight (:func:`affcurate.train.weights.va_bin_weights`)."""

    name = "linear"

    def __init__(self, tasks: tuple[str, ...], va_bins: int = 0, **settings: Any):
        super().__init__(tasks, **settings)
        self.va_bins = va_bins

    def _x(self, ws: Workspace, index: Index) -> np.ndarray:
        ds = CropDataset(ws, index, 64)
        x = np.concatenate([_geometry(ws, index), _hog(ds)], 1)
        ds.close()
        return x

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
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
        # one ridge per dimension on the frames labelled in it (a set may have valence only); else the mean
        w = va_bin_weights(train.va, train.va_mask, self.va_bins)
        self.va_models: list[Any] = []
        for j in range(2):
            m = train.va_mask[:, j]
            if "va" in self.tasks and m.sum() > 1:
                kw = {"ridge__sample_weight": w[m]} if self.va_bins else {}
                self.va_models.append(make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[m], train.va[m, j], **kw))
            else:
                self.va_models.append(float(train.va[m, j].mean()) if m.any() else 0.0)
        log(epoch=1, train_frames=len(train))

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        x = self._x(ws, index)
        n = len(index)
        au = np.stack([m.predict_proba(x)[:, 1] if hasattr(m, "predict_proba") else np.full(n, m)
                       for m in self.au_models], 1) if self.au_models else np.zeros((n, 0))
        expr = self.expr_model.predict(x) if self.expr_model is not None else np.full(n, self.expr_const)
        va = np.stack([np.clip(m.predict(x), -1, 1) if hasattr(m, "predict") else np.full(n, m)
                       for m in self.va_models], 1)
        return Predictions(au, np.asarray(expr, int), va)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if self.va_bins and "va" in self.tasks:
            info["va_bins"] = self.va_bins
        return info
