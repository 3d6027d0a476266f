"""The same per-video work on the local executor (one and two processes) and on Ray gives identical tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from affcurate.executor import ExecutorSpec
from affcurate.media.ingest import ingest
from affcurate.workspace import Workspace

VIDEOS = ["single_face.mp4", "face_noface.mov", "no_face.mp4"]
PATH_FREE = ["video_id", "kind", "sha256", "size", "status", "error", "n_frames", "duration", "out_frames",
             "out_width", "out_height", "vfr"]


def _ingest(src: Path, root: Path, spec: ExecutorSpec, faces: bool) -> Workspace:
    ws = Workspace.init(root)
    result = ingest(ws, src, spec=spec, faces=faces)
    assert result.n_failed == 0
    return ws


def _assert_same(a: Workspace, b: Workspace, same_video) -> None:
    ma, mb = a.manifest(), b.manifest()
    pd.testing.assert_frame_equal(ma[PATH_FREE], mb[PATH_FREE])
    for vid in a.video_ids():
        same_video(a.video_path(vid), b.video_path(vid))
        pd.testing.assert_frame_equal(a.frame_map(vid), b.frame_map(vid))
        if a.faces_path(vid).exists() or b.faces_path(vid).exists():
            pd.testing.assert_frame_equal(pd.read_parquet(a.faces_path(vid)), pd.read_parquet(b.faces_path(vid)))


@pytest.fixture(scope="module")
def source(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in VIDEOS:
        shutil.copy(samples / name, src / name)
    return src


@pytest.mark.slow
def test_local_pool_and_ray_give_identical_tables(source: Path, tmp_path: Path, assert_same_video) -> None:
    pytest.importorskip("ray", reason="Ray is the optional extra affcurate[ray]")
    faces = True
    one = _ingest(source, tmp_path / "one", ExecutorSpec("local", 1), faces)
    two = _ingest(source, tmp_path / "two", ExecutorSpec("local", 2), faces)
    ray_ws = _ingest(source, tmp_path / "ray", ExecutorSpec("ray", 2), faces)
    _assert_same(one, two, assert_same_video)
    _assert_same(one, ray_ws, assert_same_video)
