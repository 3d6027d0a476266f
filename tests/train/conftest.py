"""Workspaces for the trainer's tests: real aligned crops of the sample videos with labels a model can learn."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from affcurate import io
from affcurate.flow import ingest
from affcurate.lock import LOCK_NAME
from affcurate.workspace import Workspace


@pytest.fixture(scope="session")
def real_faces(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    src = tmp_path_factory.mktemp("src")
    for name in ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov"]:
        shutil.copy(samples / name, src / name)
    ws = Workspace.init(tmp_path_factory.mktemp("faces") / "ws")
    ingest(ws, src)
    return ws


def learnable_workspace(real: Workspace, root: Path, step: int = 1) -> Workspace:
    """Real aligned crops; in half of them red and blue are swapped (a blue-tinted face). The label is that
    property of the image: AU1 = tinted, valence -0.5 tinted / +0.5 not, expression Sadness / Happiness.
    Only every ``step``-th crop is labelled, so a small ``step`` keeps a test's epochs short."""
    ws = Workspace.init(root)
    shutil.copy(real.manifest_path, ws.manifest_path)
    rng = np.random.default_rng(0)
    rows = []
    for vid in real.video_ids():
        if not real.crops_path(vid).exists():
            continue
        ws.faces_path(vid).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real.faces_path(vid), ws.faces_path(vid))
        with h5py.File(real.crops_path(vid)) as h5:
            crops, frames = h5["crops"][:], h5["frames"][:]
        if len(frames) == 0:
            continue
        dark = rng.random(len(frames)) < 0.5
        crops = np.where(dark[:, None, None, None], crops[..., ::-1], crops)
        ws.crops_path(vid).parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(ws.crops_path(vid), "w") as h5:
            h5["crops"] = crops
            h5["frames"] = frames
        keep = slice(None, None, step)
        frames, dark = frames[keep], dark[keep]
        rows.append(pd.DataFrame({"video_id": vid, "frame": frames, "AU1": pd.array(dark.astype(int), dtype="Int8"),
                                  "AU12": pd.array(np.zeros(len(frames), int), dtype="Int8"),
                                  "expr": pd.array(np.where(dark, 5, 4), dtype="Int8"),
                                  "valence": np.where(dark, -0.5, 0.5).astype(np.float32),
                                  "arousal": np.full(len(frames), np.nan, np.float32), "has_face": True}))
    io.write_parquet(pd.concat(rows, ignore_index=True), ws.labels_path)
    # held-out subjects: train on the woman, validate and test on the man's videos
    splits = pd.DataFrame({"video_id": ["WolfgangLanger_Pexels", "noface_face", "single_face", "face_noface"],
                           "subject": ["woman", "man", "man", "man"], "split": ["train", "val", "test", "test"]})
    io.write_parquet(splits, ws.splits_path)
    return ws


@pytest.fixture
def learnable(real_faces: Workspace) -> Callable[..., Workspace]:
    """``learnable(root, step=1)``: a learnable workspace at ``root`` built from the real crops."""
    return lambda root, step=1: learnable_workspace(real_faces, Path(root), step)


@pytest.fixture(scope="session")
def _small_template(real_faces: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = learnable_workspace(real_faces, tmp_path_factory.mktemp("small") / "ws", step=8)
    ws.save_settings(ws.settings.replace("train", input_size=32))  # a quarter of the pixels: quick epochs
    return ws.root


@pytest.fixture
def small_ws(_small_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of a small learnable workspace (74 train, 9 validation and 18 test frames of 32×32) at
    ``tmp_path/box/ws``, so that ``../..`` from its runs/ folder still lies inside ``tmp_path``."""
    root = tmp_path / "box" / "ws"
    shutil.copytree(_small_template, root)
    return Workspace.open(root)


@pytest.fixture
def tree() -> Callable[[Path], dict[str, tuple[int, int]]]:
    """``tree(root)``: every file and folder under ``root`` with its size and modification time, but the
    writer lock file, which every writing command (refused or not) stamps with its name and then clears."""
    return lambda root: {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1, p.stat().st_mtime_ns)
                         for p in sorted(Path(root).rglob("*")) if p.name != LOCK_NAME}
