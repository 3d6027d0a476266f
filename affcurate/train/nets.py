"""The networks of the torch baselines: an encoder of one crop (``embed``: crops → features, ``dim`` wide) with
the task heads on top, and the GRU over a window of encodings.

- :class:`SmallCNN`: four conv blocks trained from scratch (the default);
- :class:`ResNetNet`: a ResNet-18 (:mod:`affcurate.train.backbone`), fine-tuned from a state dict on disk;
- :class:`FeatureNet`: a small head on the features of a frozen ONNX extractor, standardised by the train
  features' mean and spread (kept in the checkpoint).
"""

from __future__ import annotations

import torch
from torch import nn

from affcurate.train.backbone import ResNet18

# torchvision's pretrained weights expect crops normalised by ImageNet's channel statistics
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class ResNetNet(nn.Module):
    """ResNet-18's 512 pooled features of the ImageNet-normalised crop, and the heads. ``features`` holds the
    ResNet under torchvision's key names (``features.layer1.0.conv1.weight``, …)."""

    def __init__(self, n_au: int, n_expr: int):
        super().__init__()
        self.features = ResNet18(None)
        self.dim = ResNet18.dim
        # not persistent: constants of the input, not weights of the checkpoint
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.heads = Heads(self.dim, n_au, n_expr)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.embed(x))


class FeatureNet(nn.Module):
    """A small head on precomputed features: standardised (``mean``/``scale`` of the train features, saved with
    the weights), one hidden layer, the heads."""

    def __init__(self, n_au: int, n_expr: int, in_dim: int, hidden: int = 128):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.features = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True))
        self.dim = hidden
        self.heads = Heads(self.dim, n_au, n_expr)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.scale)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.embed(x))


class CNNGRU(nn.Module):
    """An encoder's per-frame features over a window (default: the small CNN), a GRU, and the task heads on
    the last step."""

    def __init__(self, n_au: int, n_expr: int, width: int = 32, hidden: int = 64, cnn: nn.Module | None = None):
        super().__init__()
        self.cnn = cnn if cnn is not None else SmallCNN(n_au, n_expr, width)
        self.gru = nn.GRU(self.cnn.dim, hidden, batch_first=True)
        self.heads = Heads(hidden, n_au, n_expr)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        b, t = x.shape[:2]
        h = self.cnn.embed(x.flatten(0, 1)).view(b, t, -1)
        out, _ = self.gru(h)
        return self.heads(out[:, -1])


def encoder(model: nn.Module) -> nn.Module:
    """The per-crop network of ``model`` (the one a pretrained backbone goes into)."""
    return model.cnn if isinstance(model, CNNGRU) else model
