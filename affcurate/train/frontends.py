"""What a torch baseline's crops go through before the task heads: the small CNN trained from scratch (no
backbone), a pretrained ResNet-18 fine-tuned from a state dict on disk, or a frozen ONNX feature extractor whose
outputs a small head is trained on (:mod:`affcurate.train.backbone`).

The ONNX model is copied into the baseline's folder (``backbone.onnx``, with ``backbone.json``): a trained run
pre-labels videos without the original file, and a retrained extractor makes a new model key. The ResNet's
weights end up in the checkpoints themselves.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.media.probe import file_sha256
from affcurate.train import backbone
from affcurate.train.backbone import OnnxFeatures
from affcurate.train.data import CropDataset, FeatureDataset, Index
from affcurate.train.nets import CNNGRU, FeatureNet, ResNetNet, SmallCNN, encoder
from affcurate.workspace import Workspace

BACKBONE_LR = 0.1  # share of the run's learning rate a pretrained ResNet is fine-tuned at
MIN_RESNET_INPUT = 64  # below it layer4 sees 1×1 maps: BatchNorm cannot train on a batch of one crop


def check(spec: str | None, input_size: int, crop_size: int) -> dict[str, Any]:
    """The run-config entries of ``--backbone`` (``backbone``, ``backbone_sha256``), after reading and checking
    the file: one line saying what is wrong, before anything is written."""
    if spec is None:
        return {"backbone": None, "backbone_sha256": None}
    s = backbone.parse(spec)
    if s.kind == "resnet18":
        if input_size < MIN_RESNET_INPUT:
            raise AffcurateError(f"--backbone resnet18 needs crops of at least {MIN_RESNET_INPUT} px: set "
                                 f"train.input_size to {MIN_RESNET_INPUT} or more (it is {input_size})")
        backbone.resnet18_weights(s.path)
    else:
        OnnxFeatures(s.path, crop_size)
    return {"backbone": s.text, "backbone_sha256": s.sha256}


class Frontend:
    """The encoder of one torch baseline and the data it is fed, for ``spec`` (``kind:FILE`` or None)."""

    def __init__(self, spec: str | None, window: int, size: int):
        self.spec = spec
        self.kind = spec.partition(":")[0] if spec else None
        self.window, self.size = window, size
        self.extractor: OnnxFeatures | None = None
        self.weights: dict[str, torch.Tensor] | None = None
        self.stats: tuple[np.ndarray, np.ndarray] | None = None
        self.info: dict[str, Any] = {}
        self.timing = {"load": 0.0, "step": 0.0, "images": 0}  # of the ONNX feature pass
        self._memo: dict[tuple[str, bool], tuple[tuple[int, int], np.ndarray]] = {}

    # ---- the network ----------------------------------------------------------------------------------
    def build(self, n_au: int, n_expr: int) -> nn.Module:
        if self.kind is None:
            return SmallCNN(n_au, n_expr) if self.window == 1 else CNNGRU(n_au, n_expr)
        if self.kind == "resnet18":
            enc: nn.Module = ResNetNet(n_au, n_expr)
        else:
            assert self.extractor is not None, "prepare() or restore() opens the extractor first"
            enc = FeatureNet(n_au, n_expr, self.extractor.dim)
        return enc if self.window == 1 else CNNGRU(n_au, n_expr, cnn=enc)

    def initialise(self, model: nn.Module) -> None:
        """The pretrained part of a freshly built ``model``: the ResNet's weights, the features' statistics."""
        enc = encoder(model)
        if self.kind == "resnet18" and self.weights is not None:
            enc.features.load_state_dict(self.weights, strict=False)  # only BatchNorm counters may be absent
        elif self.kind == "onnx" and self.stats is not None:
            with torch.no_grad():
                enc.mean.copy_(torch.from_numpy(self.stats[0]))
                enc.scale.copy_(torch.from_numpy(self.stats[1]))

    def param_groups(self, model: nn.Module, lr: float) -> list[dict[str, Any]]:
        if self.kind != "resnet18":
            return [{"params": list(model.parameters()), "lr": lr}]
        trunk = list(encoder(model).features.parameters())
        ids = {id(p) for p in trunk}
        return [{"params": trunk, "lr": lr * BACKBONE_LR},
                {"params": [p for p in model.parameters() if id(p) not in ids], "lr": lr}]

    # ---- fit and restore ------------------------------------------------------------------------------
    def prepare(self, ws: Workspace, train: Index, out: Path) -> None:
        """Before the first epoch: the ResNet's weights, or the extractor (copied into ``out``) and the
        statistics of its features over the train crops."""
        if self.kind is None:
            return
        spec = backbone.parse(self.spec or "")
        self.info = {"kind": spec.kind, "file": str(spec.path), "sha256": spec.sha256}
        if spec.kind == "resnet18":
            self.weights = backbone.resnet18_weights(spec.path)
            self.info["training"] = f"fine-tuned at {BACKBONE_LR:g} × lr, ImageNet-normalised crops"
            return
        copy = out / "backbone.onnx"
        if not copy.exists() or file_sha256(copy)[:16] != spec.sha256:
            with io.atomic_path(copy) as tmp:
                shutil.copyfile(spec.path, tmp)
        size = ws.settings.faces.crop_size
        self.extractor = OnnxFeatures(copy, size)
        self.info.update(training="frozen; a head is trained on its features", **self.extractor.describe())
        io.write_json(out / "backbone.json", {**self.info, "crop_size": size})
        x = np.concatenate([f[train.table["crop"].to_numpy()[train.table["video_id"].to_numpy() == v]]
                            for v, f in self._features(ws, train, False, True).items()])
        scale = x.std(0)
        self.stats = (x.mean(0).astype(np.float32), np.where(scale > 1e-6, scale, 1.0).astype(np.float32))

    def restore(self, out: Path) -> None:
        if self.kind != "onnx":
            return
        meta, copy = out / "backbone.json", out / "backbone.onnx"
        if not (meta.exists() and copy.exists()):
            raise AffcurateError(f"{copy} is missing: train the run again with --overwrite")
        try:
            self.info = io.read_json(meta)
            size = int(self.info["crop_size"])
        except (OSError, ValueError, KeyError, TypeError):
            raise AffcurateError(f"{meta} is damaged: train the run again with --overwrite") from None
        self.extractor = OnnxFeatures(copy, size)

    # ---- data -----------------------------------------------------------------------------------------
    def dataset(self, ws: Workspace, index: Index, va_weight: np.ndarray | None = None, mirror: bool = False,
                memo: bool = True) -> CropDataset:
        """What the network is fed for ``index``: crops, or (ONNX) their features, with those of the mirrored
        crops when ``mirror``. ``memo``: keep each video's features for the next call (a fit's epochs)."""
        if self.kind != "onnx":
            return CropDataset(ws, index, self.size, self.window, va_weight)
        return FeatureDataset(ws, index, self._features(ws, index, False, memo), self.window, va_weight,
                              self._features(ws, index, True, memo) if mirror else None)

    def _features(self, ws: Workspace, index: Index, mirror: bool, memo: bool) -> dict[str, np.ndarray]:
        assert self.extractor is not None
        out = {}
        for vid in dict.fromkeys(index.table["video_id"].tolist()):
            st = ws.crops_path(vid).stat()
            stamp = (st.st_size, st.st_mtime_ns)  # crops written again since: their features are computed again
            kept = self._memo.get((vid, mirror))
            if kept is not None and kept[0] == stamp:
                out[vid] = kept[1]
                continue
            out[vid] = backbone.video_features(self.extractor, ws, [vid], mirror, self.timing)[vid]
            if memo:
                self._memo[(vid, mirror)] = (stamp, out[vid])
        return out

    def describe(self) -> dict[str, Any] | None:
        return dict(self.info) if self.info else None

    def throughput(self) -> dict[str, float] | None:
        """Of the ONNX feature pass (the head's steps on vectors say nothing of image throughput)."""
        tm = self.timing
        if not tm["images"]:
            return None
        busy = max(tm["load"] + tm["step"], 1e-9)
        return {"images_per_s": tm["images"] / busy, "load_share": tm["load"] / busy}
