"""The torch baselines: ``cnn``, a small multi-task CNN trained from scratch (AU: BCE with each AU's positives
weighted by its negatives-to-positives ratio, EXPR: class-weighted CE, VA: 1 − CCC plus the squared error,
optionally weighted per frame by ``train.va_bins``), and ``cnn-gru``, the same CNN's features over short windows
of frames with a GRU head. Their BatchNorm layers normalise each video by its own statistics, in training and
in prediction (:mod:`affcurate.train.videonorm`): a person the model never saw is read relative to their video. Either can start from a pretrained backbone on disk (``backbone``: ``resnet18:FILE`` fine-tuned,
``onnx:FILE`` frozen with a small head on its features; :mod:`affcurate.train.backbone`).

The checkpoint kept is the epoch with the best validation score (mean of AU mean F1, EXPR macro-F1 and VA mean
CCC, over those defined). Without validation frames, or while no epoch has a defined score, it is the last
epoch: there is nothing to choose by, and the training frames would only pick the most over-fitted one."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from affcurate.errors import AffcurateError
from affcurate.train import checkpoint
from affcurate.train.base import Baseline, Predictions
from affcurate.train.checkpoint import DamagedFile
from affcurate.train.data import CropDataset, Index
from affcurate.train.frontends import Frontend
from affcurate.train.metrics import au_metrics, expr_metrics, va_metrics
from affcurate.train.videonorm import VideoBatches, batch_norms, video_statistics
from affcurate.train.weights import va_bin_weights
from affcurate.workspace import Workspace


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's shuffle and dropout: a function of the run's seed and the epoch only."""
    return int(np.random.SeedSequence([seed % 2**32, seed // 2**32 % 2**32, epoch]).generate_state(1)[0])


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """1 − CCC per dimension over the batch's labelled frames (seeds 001 and 003), averaged. With ``weight``
    (one per frame) the CCC's means, variances and covariance are weighted: a frame of weight 2 counts as two."""
    losses = []
    for j in range(pred.shape[1]):
        m = mask[:, j]
        if m.sum() < 2:
            continue
        p, t = pred[m, j], target[m, j]
        if weight is None:
            pm, tm = p.mean(), t.mean()
            cov = ((p - pm) * (t - tm)).mean()
            c = 2 * cov / (p.var(unbiased=False) + t.var(unbiased=False) + (pm - tm) ** 2 + 1e-8)
        else:
            w = weight[m] / weight[m].sum().clamp_min(1e-12)
            pm, tm = (w * p).sum(), (w * t).sum()
            cov = (w * (p - pm) * (t - tm)).sum()
            c = 2 * cov / ((w * (p - pm) ** 2).sum() + (w * (t - tm) ** 2).sum() + (pm - tm) ** 2 + 1e-8)
        losses.append(1 - c)
    return torch.stack(losses).mean() if losses else pred.sum() * 0


def mse_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over the labelled values, each frame counted ``weight`` times (as in :func:`ccc_loss`).
    Beside 1 − CCC, whose gradient on the mean and spread fades with the covariance, it keeps the outputs on the
    labels' scale when the correlation is weak (a new person)."""
    w = mask.float() if weight is None else mask.float() * weight[:, None]
    return (w * (pred - target) ** 2).sum() / w.sum().clamp_min(1e-12)


class TorchBaseline(Baseline):
    """Training loop shared by ``cnn`` and ``cnn-gru``: per-epoch log and checkpoint, best by validation (the
    last epoch without validation), resumable, deterministic for a seed. ``out`` holds ``last.pt`` (to resume)
    and ``best.pt`` (the model kept)."""

    name = "cnn"
    sequence = False  # True: each item is the run's ``window`` consecutive crops, not one

    def __init__(self, tasks: tuple[str, ...], epochs: int = 5, batch_size: int = 64, lr: float = 1e-3,
                 seed: int = 0, input_size: int = 64, workers: int = 0, window: int = 5, va_bins: int = 0,
                 backbone: str | None = None, **settings: Any):
        super().__init__(tasks)
        self.va_bins = va_bins
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.seed, self.size, self.workers = seed, input_size, workers
        self.window = window if self.sequence else 1
        self.timing = {"load": 0.0, "step": 0.0, "images": 0}
        self.front = Frontend(backbone, self.window, input_size)

    def build(self, n_au: int, n_expr: int) -> nn.Module:
        return self.front.build(n_au, n_expr)

    def _loader(self, ds: CropDataset, shuffle: bool, epoch: int = 0) -> DataLoader:
        # the shuffle of epoch e depends on (seed, e) only, so a run resumed at epoch e replays it exactly
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        if shuffle and batch_norms(self.model):  # one video a batch: its statistics are a video's, as in prediction
            return DataLoader(ds, batch_sampler=VideoBatches(ds.keys["video_id"].to_numpy(), self.batch_size, g),
                              num_workers=self.workers, persistent_workers=False)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.workers, generator=g,
                          persistent_workers=False)

    def _loss(self, out: dict[str, torch.Tensor], b: dict[str, torch.Tensor], expr_w: torch.Tensor) -> torch.Tensor:
        total = out["va"].sum() * 0
        if "au" in self.tasks and b["au_mask"].any():
            m = b["au_mask"].float()
            bce = nn.functional.binary_cross_entropy_with_logits(out["au"][:, : m.shape[1]], b["au"], reduction="none",
                                                                 pos_weight=self.au_pos_weight)
            total = total + (bce * m).sum() / m.sum()
        if "expr" in self.tasks and (b["expr"] >= 0).any():
            total = total + nn.functional.cross_entropy(out["expr"], b["expr"], weight=expr_w, ignore_index=-1)
        if "va" in self.tasks and b["va_mask"].any():
            w = b["va_weight"] if self.va_bins else None
            total = total + ccc_loss(out["va"], b["va"], b["va_mask"], w) + mse_loss(out["va"], b["va"], b["va_mask"], w)
        return total

    def _fresh(self, n_expr: int) -> torch.optim.Optimizer:
        torch.manual_seed(self.seed)  # the initial weights depend on the seed (and the train labels) only
        self.model = self.build(self.n_au, n_expr)
        with torch.no_grad():  # VA starts at the train mean, as the prior: an untrained head is not a random guess
            self.model.heads.va.bias.copy_(torch.atanh(self.va_start))
        self.front.initialise(self.model)
        return torch.optim.Adam(self.front.param_groups(self.model, self.lr), lr=self.lr)

    def _resume(self, out: Path, opt: torch.optim.Optimizer) -> tuple[int, float]:
        """Epoch to go on from and best validation score so far, from the checkpoints of a killed run."""
        last = out / "last.pt"
        state = checkpoint.load(last)
        try:
            self.model.load_state_dict(state["model"])
            opt.load_state_dict(state["optim"])
            start, best = int(state["epoch"]) + 1, float(state["best"])
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise DamagedFile(last, "not a checkpoint of this model") from None
        try:  # best.pt is read at the end; a damaged one must be found before more epochs are spent
            copy.deepcopy(self.model).load_state_dict(checkpoint.load(out / "best.pt"))
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise DamagedFile(out / "best.pt", "not a checkpoint of this model") from None
        return start, best

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
        self.n_au = train.au.shape[1]
        pos, known = (train.au * train.au_mask).sum(0), train.au_mask.sum(0)
        # balanced, as the linear baseline's: a rare AU is predicted at 0.5 when no validation tunes thresholds
        self.au_pos_weight = torch.tensor(np.where(pos > 0, np.clip((known - pos) / np.maximum(pos, 1), 1e-2, 1e2),
                                                   1.0), dtype=torch.float32)
        vm = train.va_mask
        mean = np.where(vm.sum(0) > 0, (train.va * vm).sum(0) / np.maximum(vm.sum(0), 1), 0.0)
        self.va_start = torch.tensor(np.clip(mean, -0.9, 0.9), dtype=torch.float32)
        self.front.prepare(ws, train, out)
        opt = self._fresh(train.n_expr)
        counts = np.bincount(train.expr[train.expr >= 0], minlength=train.n_expr).astype(np.float64)
        expr_w = torch.tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max((counts > 0).sum(), 1),
                                       0.0), dtype=torch.float32)
        start, best = 0, -math.inf
        last = out / "last.pt"
        if last.exists():  # resume an interrupted run
            try:
                start, best = self._resume(out, opt)
            except DamagedFile as exc:
                note(f"{exc}: {self.name} restarts from scratch")
                for p in (last, out / "best.pt"):
                    p.unlink(missing_ok=True)
                opt = self._fresh(train.n_expr)
        ds = self.front.dataset(ws, train, va_bin_weights(train.va, train.va_mask, self.va_bins))
        scored = val if val is not None and len(val) else None
        for epoch in range(start, self.epochs):
            torch.manual_seed(epoch_seed(self.seed, epoch))  # dropout draws as an uninterrupted run's
            loader = self._loader(ds, shuffle=True, epoch=epoch)
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
            self._settle_batchnorm(ds)
            score = self._validation_score(ws, scored) if scored is not None else None
            # log, best, last: a kill between two of them makes the resumed run do this epoch again, identically
            log(epoch=epoch + 1, loss=float(np.mean(losses)) if losses else None, val_score=score)
            if best == -math.inf or (score is not None and score > best):  # no score yet: the last epoch
                best = -math.inf if score is None else score
                checkpoint.save(self.model.state_dict(), out / "best.pt")
            checkpoint.save({"model": self.model.state_dict(), "optim": opt.state_dict(), "epoch": epoch,
                             "best": best}, last)
        ds.close()
        self.model.load_state_dict(checkpoint.load(out / "best.pt"))

    def _settle_batchnorm(self, ds: CropDataset) -> None:
        """Each BatchNorm's running statistics, computed again over the training crops with the epoch's final
        weights. The moving averages of a short training lag behind the weights (and start from variance 1):
        evaluated with them, a model trained for a few epochs sees other inputs than it learnt on."""
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        momenta = [m.momentum for m in norms]
        self.model.eval()  # dropout off; only the norms gather statistics
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the pass
            m.train()
        with torch.no_grad():
            for b in self._loader(ds, shuffle=False):
                self.model(b["x"])
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        self.model.eval()

    def _raw(self, ws: Workspace, index: Index, mirror: bool = False, memo: bool = True) -> dict[str, np.ndarray]:
        """Outputs per row; ``mirror`` adds ``va_spread``: how far VA moves when the crops are mirrored.
        ``memo``: keep the videos' features for later calls (within a fit; not while pre-labelling videos).
        A network with BatchNorm reads each video with that video's statistics."""
        self.model.eval()
        if not len(index) or not batch_norms(self.model):  # a head on frozen features: nothing to normalise
            ds = self.front.dataset(ws, index, mirror=mirror, memo=memo)
            out = self._outputs(ds, mirror)
            ds.close()
            return out
        vids = index.table["video_id"].to_numpy()
        parts, rows = [], []
        for vid in dict.fromkeys(vids.tolist()):
            mine = np.flatnonzero(vids == vid)
            ds = self.front.dataset(ws, index.subset(mine), mirror=mirror, memo=memo)
            with video_statistics(self.model, ws, vid, ds.inputs, self.batch_size):
                parts.append(self._outputs(ds, mirror))
            ds.close()
            rows.append(mine)
        back = np.argsort(np.concatenate(rows), kind="stable")
        return {k: np.concatenate([p[k] for p in parts])[back] for k in parts[0]}

    def _outputs(self, ds: CropDataset, mirror: bool) -> dict[str, np.ndarray]:
        outs: dict[str, list[np.ndarray]] = {"au": [], "expr": [], "expr_prob": [], "va": [], "va_spread": []}
        with torch.no_grad():
            for b in self._loader(ds, shuffle=False):
                o = self.model(b["x"])
                outs["au"].append(torch.sigmoid(o["au"][:, : self.n_au]).numpy())
                outs["expr"].append(o["expr"].argmax(1).numpy())
                outs["expr_prob"].append(torch.softmax(o["expr"], 1).numpy())
                outs["va"].append(o["va"].numpy())
                if mirror:
                    flipped = b["x_mirror"] if "x_mirror" in b else b["x"].flip(-1)  # features: of mirrored crops
                    outs["va_spread"].append((self.model(flipped)["va"] - o["va"]).abs().numpy())
        return {k: np.concatenate(v) for k, v in outs.items() if v}

    def _validation_score(self, ws: Workspace, index: Index) -> float | None:
        """Mean of the tasks' headline scores on ``index`` that are defined; None when none is."""
        r = self._raw(ws, index)
        parts = []
        if "au" in self.tasks and index.au_mask.any():
            parts.append(au_metrics(index.au, r["au"], index.au_mask, index.aus)["f1_mean"])
        e = index.expr >= 0
        if "expr" in self.tasks and e.any():
            parts.append(expr_metrics(index.expr[e], r["expr"][e], index.n_expr)["f1_macro"])
        if "va" in self.tasks and index.va_mask.any():
            parts.append(va_metrics(index.va, r["va"], index.va_mask)["ccc_mean"])
        known = [p for p in parts if p is not None]
        return float(np.mean(known)) if known else None

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        r = self._raw(ws, index)
        return Predictions(r["au"], r["expr"], r["va"], r["expr_prob"])

    def predict_labels(self, ws: Workspace, index: Index) -> Predictions:
        r = self._raw(ws, index, mirror=True, memo=False)
        return Predictions(r["au"], r["expr"], r["va"], r["expr_prob"], r["va_spread"])

    def restore(self, out: Path, aus: list[str], n_expr: int) -> None:
        self.n_au = len(aus)
        self.front.restore(out)
        self.model = self.build(self.n_au, n_expr)
        try:
            self.model.load_state_dict(checkpoint.load(out / "best.pt"))
        except DamagedFile as exc:
            raise AffcurateError(f"{exc}: train the run again with --overwrite") from None
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise AffcurateError(f"{out / 'best.pt'} is not a {self.name} of {self.n_au} AUs and {n_expr} "
                                 "expressions") from None
        self.model.eval()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if hasattr(self, "model"):  # fitted
            info["parameters"] = int(sum(p.numel() for p in self.model.parameters()))
        if self.va_bins and "va" in self.tasks:
            info["va_bins"] = self.va_bins
        if self.front.describe():
            info["backbone"] = self.front.describe()
        return info

    def throughput(self) -> dict[str, float] | None:
        if self.front.kind == "onnx":
            return self.front.throughput()
        tm = self.timing
        if not tm["images"]:
            return None
        busy = max(tm["load"] + tm["step"], 1e-9)
        return {"images_per_s": tm["images"] / busy, "load_share": tm["load"] / busy}


class CNN(TorchBaseline):
    name = "cnn"


class CNNGRUBaseline(TorchBaseline):
    name = "cnn-gru"
    sequence = True
