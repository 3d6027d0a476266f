"""The two baselines without torch:

- ``prior``: majority class, AU base rates, mean VA (the floor every table shows);
- ``linear``: logistic / ridge regression on dlib's 68 landmarks of the aligned crop (normalised;
  :mod:`affcurate.train.landmarks`), the faces stage's five points, and HOG of the crop.

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
from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.train import landmarks
from affcurate.train.base import Baseline, Predictions
from affcurate.train.data import CropDataset, Index
from affcurate.train.fitted import Affine, LinearState
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
        counts = np.bincount(e, minlength=train.n_expr).astype(np.float64)
        self.majority = int(counts.argmax()) if len(e) else 0
        self.expr_rates = counts / counts.sum() if len(e) else np.full(train.n_expr, 1.0 / max(train.n_expr, 1))
        vm = train.va_mask
        n = np.maximum(vm.sum(0), 1)
        self.va_mean = np.where(vm.sum(0) > 0, (train.va * vm).sum(0) / n, 0.0)
        self.va_std = np.where(vm.sum(0) > 0, np.sqrt((((train.va - self.va_mean) ** 2) * vm).sum(0) / n), 1.0)
        io.write_json(out / "prior.json", {"au_rates": self.rates.tolist(), "expr": self.majority,
                                           "va_mean": self.va_mean.tolist(), "expr_rates": self.expr_rates.tolist(),
                                           "va_std": self.va_std.tolist()})

    def restore(self, out: Path, aus: list[str], n_expr: int) -> None:
        path = out / "prior.json"
        try:
            state = io.read_json(path)
            self.rates, self.majority = np.asarray(state["au_rates"], np.float64), int(state["expr"])
            self.va_mean = np.asarray(state["va_mean"], np.float64)
            # runs of older versions kept no class shares nor spread: nothing is known beyond the majority
            self.expr_rates = np.asarray(state.get("expr_rates") or np.full(n_expr, 1.0 / max(n_expr, 1)))
            self.va_std = np.asarray(state.get("va_std") or [1.0, 1.0], np.float64)
        except (OSError, ValueError, KeyError, TypeError):
            raise AffcurateError(f"{path} cannot be read back: train the run again with --overwrite") from None
        if len(self.rates) != len(aus) or len(self.expr_rates) != n_expr or self.va_mean.shape != (2,):
            raise AffcurateError(f"{path} is not a prior of {len(aus)} AUs and {n_expr} expressions")

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        n = len(index)
        return Predictions(np.repeat(self.rates[None], n, 0), np.full(n, self.majority),
                           np.repeat(self.va_mean[None], n, 0), np.repeat(self.expr_rates[None], n, 0),
                           np.repeat(self.va_std[None], n, 0))


MIRRORED = [1, 0, 2, 4, 3]  # the five landmarks (eyes, nose, mouth corners) of the mirrored face


def _geometry(ws: Workspace, index: Index, mirror: bool = False) -> np.ndarray:
    """Landmarks of the subject normalised by eye position and distance (translation/scale free); zeros on
    frames without the subject's face. ``mirror``: those of the face mirrored left to right."""
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
            pts = (lm - c) / d
            out[r] = (pts[MIRRORED] * [-1, 1]).ravel() if mirror else pts.ravel()
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


def _hog(ds: CropDataset, mirror: bool = False) -> np.ndarray:
    feats = []
    for vid, crop in zip(ds._vid, ds._crop, strict=True):
        img = cv2.cvtColor(ds.crop_image(vid, int(crop)), cv2.COLOR_RGB2GRAY)
        img = np.ascontiguousarray(img[:, ::-1]) if mirror else img
        feats.append(hog(cv2.resize(img, (64, 64))))
    return np.asarray(feats, np.float32)


HOG_SIZE = 64
N_FEATURES = landmarks.N_FEATURES + 10 + len(hog(np.zeros((HOG_SIZE, HOG_SIZE), np.uint8)))


class Linear(Baseline):
    """Per-task linear models on hand-made features: dlib's 68 landmarks (normalised), the faces stage's five
    points, and HOG. With ``va_bins`` > 0 the ridge regression of VA weighs each frame by its VA-bin weight
    (:func:`affcurate.train.weights.va_bin_weights`)."""

    name = "linear"

    def __init__(self, tasks: tuple[str, ...], va_bins: int = 0, **settings: Any):
        super().__init__(tasks, **settings)
        self.va_bins = va_bins
        self.out: Path | None = None
        self.points: landmarks.Landmarks | None = None

    def _landmarks(self, ws: Workspace) -> landmarks.Landmarks:
        """Set by fit (which keeps the points in the run folder); after restore, the run's kept points are
        read and those of new crops computed, not written (a pre-labelling worker only reads)."""
        if self.points is None:
            run = None if self.out is None else landmarks.run_folder(ws, self.out)
            self.points = landmarks.Landmarks(None if run is None else run / landmarks.FOLDER, write=False)
        return self.points

    def _x(self, ws: Workspace, index: Index, mirror: bool = False) -> np.ndarray:
        ds = CropDataset(ws, index, HOG_SIZE)
        x = np.concatenate([self._landmarks(ws).features(ws, index.table, mirror), _geometry(ws, index, mirror),
                            _hog(ds, mirror)], 1)
        ds.close()
        return x

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        run = landmarks.run_folder(ws, out)
        self.points = landmarks.Landmarks(None if run is None else run / landmarks.FOLDER, write=True)
        x = self._x(ws, train)
        au: list[Affine | float] = []
        for j in range(train.au.shape[1]):
            m = train.au_mask[:, j]
            y = train.au[m, j]
            if "au" in self.tasks and m.sum() and 0 < y.sum() < len(y):
                clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced", C=0.1))
                au.append(Affine.of(clf.fit(x[m], y)))
            else:
                au.append(float(y.mean()) if m.sum() else 0.0)
        e = train.expr >= 0
        expr, classes = None, np.zeros(0, np.int64)
        if "expr" in self.tasks and e.sum() and len(np.unique(train.expr[e])) > 1:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced", C=0.1))
            clf.fit(x[e], train.expr[e])
            expr, classes = Affine.of(clf), np.asarray(clf.classes_, np.int64)
        const = int(np.bincount(train.expr[e], minlength=train.n_expr).argmax()) if e.sum() else 0
        # one ridge per dimension on the frames labelled in it (a set may have valence only); else the mean
        w = va_bin_weights(train.va, train.va_mask, self.va_bins)
        va: list[Affine | float] = []
        for j in range(2):
            m = train.va_mask[:, j]
            if "va" in self.tasks and m.sum() > 1:
                kw = {"ridge__sample_weight": w[m]} if self.va_bins else {}
                va.append(Affine.of(make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[m], train.va[m, j], **kw)))
            else:
                va.append(float(train.va[m, j].mean()) if m.any() else 0.0)
        # the arrays are the model from here on: what is scored now is what a pre-labelling run predicts
        self.state, self.n_expr = LinearState(au, expr, classes, const, va), train.n_expr
        self.state.save(out / "linear.npz")
        log(epoch=1, train_frames=len(train))

    def restore(self, out: Path, aus: list[str], n_expr: int) -> None:
        self.state, self.n_expr = LinearState.load(out / "linear.npz"), n_expr
        if len(self.state.au) != len(aus) or len(self.state.va) != 2 or (self.state.expr_classes >= n_expr).any():
            raise AffcurateError(f"{out / 'linear.npz'} is not a linear model of {len(aus)} AUs and {n_expr} "
                                 "expressions")
        widths = {len(m.mean) for m in [*self.state.au, self.state.expr, *self.state.va] if isinstance(m, Affine)}
        if widths - {N_FEATURES}:
            raise AffcurateError(f"{out / 'linear.npz'} was trained on {widths.pop()} features by an older version "
                                 f"(this one uses {N_FEATURES}): train the run again with --overwrite")
        self.out = out

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        x = self._x(ws, index)
        prob = self.state.expr_prob(x, self.n_expr)
        return Predictions(self.state.au_prob(x), prob.argmax(1).astype(int), self.state.va_values(x), prob)

    def predict_labels(self, ws: Workspace, index: Index) -> Predictions:
        """With ``va_spread``: how far the VA of each crop moves when the face is mirrored."""
        p = self.predict(ws, index)
        p.va_spread = np.abs(p.va - self.state.va_values(self._x(ws, index, mirror=True)))
        return p

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if self.va_bins and "va" in self.tasks:
            info["va_bins"] = self.va_bins
        if self.points is not None:
            info["landmarks"] = self.points.describe()
        return info
