"""Batch normalisation by video, for the torch baselines whose encoder has BatchNorm layers (the small CNN and
the ResNet): each video's crops are normalised with the statistics of that video, in training and when scoring
or pre-labelling. It is person-specific normalisation (as OpenFace normalises AU features by the video's median,
Baltrušaitis et al. 2015) done in every BatchNorm layer (AdaBN, Li et al. 2016).

Why: with the training statistics, the crops of a person (or light, background, camera) the model never saw
fall far outside the activations it learnt on, and its heads extrapolate: near-constant, confident outputs for
every frame, whatever the frame shows. With the video's own statistics, a frame is read relative to the rest of
its video, which is what a model of few people can carry over to another person.

Training batches therefore hold the crops of one video each (their batch statistics are a video's, as at
prediction), and a frame's prediction depends on its own video only: the statistics are computed over up to
``STATS_CROPS`` crops spread over the video's crop file, not over the frames asked for. The cost: a video that
shows one expression throughout reads as that person's average face."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import Sampler

from affcurate.train.nets import encoder
from affcurate.workspace import Workspace

STATS_CROPS = 256  # a video's statistics are computed over at most this many of its crops, spread evenly
MIN_CROPS = 8  # a video with fewer crops keeps the training statistics: a handful of crops says little


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def stats_rows(ws: Workspace, video_id: str) -> np.ndarray:
    """Rows of ``crops/<id>.h5`` a video's statistics are computed over: all of them, or ``STATS_CROPS``
    spread evenly over the file."""
    with h5py.File(ws.crops_path(video_id), "r") as h5:
        n = len(h5["crops"])
    return np.unique(np.linspace(0, n - 1, min(n, STATS_CROPS)).round().astype(np.int64)) if n else np.zeros(0, int)


class VideoBatches(Sampler[list[int]]):
    """Batches of the items of one video each: each video's items shuffled and cut into batches of at most
    ``batch_size`` of about equal sizes (no stray batch of two), the batches then shuffled; a function of
    ``generator``'s state only."""

    def __init__(self, videos: np.ndarray, batch_size: int, generator: torch.Generator):
        self.videos, self.batch_size, self.generator = np.asarray(videos), batch_size, generator
        self.groups = [np.flatnonzero(self.videos == v) for v in dict.fromkeys(self.videos.tolist())]

    def __len__(self) -> int:
        return sum(math.ceil(len(g) / self.batch_size) for g in self.groups)

    def __iter__(self) -> Iterator[list[int]]:
        batches: list[list[int]] = []
        for g in self.groups:
            perm = g[torch.randperm(len(g), generator=self.generator).numpy()]
            batches += [c.tolist() for c in np.array_split(perm, math.ceil(len(g) / self.batch_size))]
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i]


@contextmanager
def video_statistics(model: nn.Module, ws: Workspace, video_id: str, inputs: Callable[[str, list[int]], torch.Tensor],
                     batch_size: int) -> Iterator[bool]:
    """Within the block, ``model``'s BatchNorm layers normalise with the statistics of ``video_id``'s crops
    (``inputs(video, rows)`` gives the network's input for crop rows); afterwards they are as before. Yields
    whether the video's statistics are in use (False: no BatchNorm, or too few crops)."""
    enc = encoder(model)
    norms = batch_norms(enc)
    rows = stats_rows(ws, video_id) if norms else np.zeros(0, int)
    if len(rows) < MIN_CROPS:
        yield False
        return
    saved = [({k: v.clone() for k, v in m.state_dict().items()}, m.momentum) for m in norms]
    was_training = model.training
    try:
        model.eval()  # dropout off; only the norms gather statistics, as a plain average over the pass
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        k = math.ceil(len(rows) / batch_size)
        with torch.no_grad():  # each pass strided over the whole video, so each has the video's spread
            for j in range(k):
                enc.embed(inputs(video_id, rows[j::k].tolist()))
        for m in norms:
            m.eval()
        yield True
    finally:
        for m, (state, momentum) in zip(norms, saved, strict=True):
            m.load_state_dict(state)
            m.momentum = momentum
        model.train(was_training)
