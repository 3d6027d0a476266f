"""Pretrained backbones for the torch baselines, from files already on disk (nothing is ever downloaded).

``--backbone resnet18:FILE``: a ResNet-18 state dict in torchvision's key layout (``conv1.weight``,
``layer1.0.bn1.running_mean``, … ``fc.bias``), read with ``torch.load(FILE, weights_only=True)`` into the
architecture defined here (torchvision's own, which does not load beside the pinned torch). The classifier
``fc`` is optional and left out (the task heads replace it); any other missing or unexpected key is refused in
one line. The network is fine-tuned, at a tenth of the run's learning rate, on ImageNet-normalised crops.

``--backbone onnx:FILE``: any ONNX feature extractor, run frozen with onnxruntime: each crop goes through it
once, its first output, flattened, is the crop's feature vector, and only a small head is trained on top. Its
one input is an image batch, ``N×3×H×W`` or ``N×H×W×3``: float crops get RGB in [0, 1], uint8 crops 0-255;
crops are resized to a fixed ``H×W`` (the stored crop size where the model leaves it open). Normalisation the
model expects beyond that belongs inside the model.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np
import torch
from torch import nn

from affcurate.errors import AffcurateError
from affcurate.media.probe import file_sha256
from affcurate.workspace import Workspace

KINDS = ("resnet18", "onnx")
OPTIONAL = ("fc.weight", "fc.bias")  # the classifier: its shape is its classes', and the heads replace it


@dataclass(frozen=True)
class Spec:
    """What ``--backbone KIND:FILE`` names, with the file's content hash (part of the run's identity)."""

    kind: str
    path: Path
    sha256: str

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.path}"


def parse(value: str, where: str = "--backbone") -> Spec:
    """``resnet18:FILE`` or ``onnx:FILE`` as a :class:`Spec`; one line naming what is wrong otherwise."""
    kind, sep, path = str(value).partition(":")
    if not sep or kind not in KINDS or not path:
        raise AffcurateError(f"{where}: expected resnet18:FILE or onnx:FILE, got {value!r}")
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise AffcurateError(f"{file}: no such file ({where} {value})")
    return Spec(kind, file, file_sha256(file)[:16])


# ---- ResNet-18, in torchvision's layout ---------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = (nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                           if stride != 1 or inplanes != planes else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's ``resnet18``: the same modules under the same names, so its state dicts load as they are.
    ``num_classes`` None: no ``fc``, the output is the 512 pooled features."""

    dim = 512

    def __init__(self, num_classes: int | None = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, inplanes = (64, 128, 256, 512), 64
        for i, planes in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes) if num_classes else None
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(x)


def _some(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" (and {len(keys) - 3} more)" if len(keys) > 3 else "")


def resnet18_weights(path: Path) -> dict[str, torch.Tensor]:
    """The backbone tensors of a ResNet-18 state dict file (``fc`` left out), checked key by key and shape by
    shape against :class:`ResNet18`; one line naming the missing and unexpected keys when it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports an unreadable file as any of a dozen types
        raise AffcurateError(f"{path}: not a torch state dict ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise AffcurateError(f"{path}: not a state dict (a dict of parameter names to tensors): a "
                             f"{type(state).__name__}")
    expected = ResNet18(None).state_dict()
    # BatchNorm counters are absent from older checkpoints, torchvision's own ImageNet weights among them
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected and k not in OPTIONAL]
    if missing or unexpected:
        hint = ("; keys start with 'module.': save model.module.state_dict()"
                if unexpected and all(k.startswith("module.") for k in unexpected) else "")
        raise AffcurateError(f"{path}: not a ResNet-18 state dict in torchvision's key layout: missing keys: "
                             f"{_some(missing) or 'none'}; unexpected keys: {_some(unexpected) or 'none'}{hint}")
    for k, v in expected.items():
        if k in state and tuple(state[k].shape) != tuple(v.shape):
            raise AffcurateError(f"{path}: {k} has shape {tuple(state[k].shape)}, ResNet-18 has {tuple(v.shape)}")
    return {k: v for k, v in state.items() if k in expected}


# ---- ONNX feature extractors ----------------------------------------------------------------------------
class OnnxFeatures:
    """A frozen ONNX feature extractor: uint8 RGB crops (N×H×W×3) in, one feature vector per crop out."""

    def __init__(self, path: Path, crop_size: int = 112):
        import onnxruntime as ort

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())  # the cores torch is given, no more
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types: a file it cannot load
            raise AffcurateError(f"{path}: not an ONNX model onnxruntime can run ({_first_line(exc)})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise AffcurateError(f"{path}: an ONNX feature extractor takes one input (an image batch); this one "
                                 f"takes {len(inputs)}")
        inp = inputs[0]
        self.input_name, shape = inp.name, list(inp.shape)
        self.uint8 = inp.type == "tensor(uint8)"
        if len(shape) != 4 or not (shape[1] == 3 or shape[3] == 3) or inp.type not in ("tensor(float)",
                                                                                       "tensor(uint8)"):
            raise AffcurateError(f"{path}: its input {inp.name} is {inp.type} {shape}: expected a float or uint8 "
                                 "image batch N×3×H×W or N×H×W×3")
        self.nchw = shape[1] == 3
        hw = shape[2:4] if self.nchw else shape[1:3]
        self.size = tuple(int(s) if isinstance(s, int) and s > 0 else crop_size for s in hw)
        self.fixed = isinstance(shape[0], int) and shape[0] > 0  # a fixed batch: the last one is padded
        self.batch = shape[0] if self.fixed else 32
        self.dim = int(self(np.zeros((1, crop_size, crop_size, 3), np.uint8)).shape[1])

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(N, dim) float32 features of ``crops`` (N×H×W×3 uint8 RGB), ``self.batch`` at a time."""
        out = []
        h, w = self.size
        for i in range(0, len(crops), self.batch):
            part = [c if c.shape[:2] == (h, w) else cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA)
                    for c in crops[i:i + self.batch]]
            n = len(part)
            x = np.stack(part + [np.zeros_like(part[0])] * (self.batch - n if self.fixed else 0))
            x = x if self.uint8 else x.astype(np.float32) / 255.0
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2) if self.nchw else x)
            try:
                y = self.session.run(None, {self.input_name: x})[0]
            except Exception as exc:  # a model that runs on other inputs only: one line, no traceback
                raise AffcurateError(f"{self.path}: onnxruntime failed on {h}×{w} crops ({_first_line(exc)})") from None
            y = np.asarray(y, np.float32)
            if y.ndim == 0 or y.shape[0] != len(x):
                raise AffcurateError(f"{self.path}: its first output has shape {list(y.shape)} for a batch of "
                                     f"{len(x)} crops: expected one feature vector per crop")
            if not np.isfinite(y).all():
                raise AffcurateError(f"{self.path}: its features are not all finite numbers (NaN or inf)")
            out.append(y.reshape(len(x), -1)[:n])
        return np.concatenate(out) if out else np.zeros((0, getattr(self, "dim", 0)), np.float32)

    def describe(self) -> dict[str, Any]:
        return {"input": f"{'N×3×H×W' if self.nchw else 'N×H×W×3'} {self.size[0]}×{self.size[1]} "
                         f"{'uint8' if self.uint8 else 'float [0, 1]'}", "feature_dim": self.dim}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def video_features(extractor: OnnxFeatures, ws: Workspace, video_ids: list[str], mirror: bool = False,
                   timing: dict[str, float] | None = None, chunk: int = 256) -> dict[str, np.ndarray]:
    """Per video, the features of every crop of its HDF5 file in order (``mirror``: of the crops mirrored
    left to right), read ``chunk`` crops at a time. ``timing`` gathers seconds spent reading (``load``) and
    in the extractor (``step``) and the crops done (``images``)."""
    out = {}
    for vid in video_ids:
        parts = []
        with h5py.File(ws.crops_path(vid), "r") as h5:
            crops = h5["crops"]
            for i in range(0, len(crops), chunk):
                t0 = time.perf_counter()
                block = crops[i:i + chunk]
                block = np.ascontiguousarray(block[:, :, ::-1]) if mirror else block
                t1 = time.perf_counter()
                parts.append(extractor(block))
                if timing is not None:
                    timing["load"] += t1 - t0
                    timing["step"] += time.perf_counter() - t1
                    timing["images"] += len(block)
        out[vid] = np.concatenate(parts) if parts else np.zeros((0, extractor.dim), np.float32)
    return out
