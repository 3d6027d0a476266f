"""The same per-video work on the local executor (one and two processes) and on Ray gives identical tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.executor import ExecutorSpec
from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
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
            ta, tb = FaceTracks.read(a, vid), FaceTracks.read(b, vid)
            # the same faces, tracks and subject; positions to 2 px: x264 does not always give the same bits when
            # the runs differ in timing (see assert_same_video), and landmarks follow the pixels
            for name in ("frame", "track_id", "is_target", "detected"):
                assert np.array_equal(getattr(ta, name), getattr(tb, name)), (vid, name)
            for name in ("boxes", "landmarks", "scores"):
                assert np.allclose(getattr(ta, name), getattr(tb, name), atol=2.0), (
                    vid, name, float(np.abs(getattr(ta, name) - getattr(tb, name)).max()))


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


def test_map_items_reports_through_one_callback_and_prints_nothing(capsys) -> None:
    from affcurate.executor import map_items, reporting

    seen: list[tuple[str, int, int]] = []
    results = list(map_items(abs, [-1, -2, 3], description="numbers", progress=lambda *r: seen.append(r)))
    assert sorted(r.value for r in results) == [1, 2, 3]
    assert seen == [("numbers", 0, 3), ("numbers", 1, 3), ("numbers", 2, 3), ("numbers", 3, 3)]
    # without a callback: the one the caller set up with `reporting`, else nothing at all
    around: list[tuple[str, int, int]] = []
    with reporting(lambda *r: around.append(r)):
        list(map_items(abs, [1], description="one"))
    assert around == [("one", 0, 1), ("one", 1, 1)]
    list(map_items(abs, [1, 2]))
    assert capsys.readouterr() == ("", "")


def test_tasks_give_the_rich_task_calls_over_a_callback() -> None:
    from affcurate.executor import Tasks

    seen: list[tuple[str, int, int]] = []
    tasks = Tasks(lambda *r: seen.append(r))
    frames = tasks.add_task("frames", total=10)
    tasks.advance(frames, 4)
    tasks.update(frames, completed=tasks.tasks[frames].total)
    tasks("faces", 1, 2)  # a Progress callback itself as well
    assert seen == [("frames", 0, 10), ("frames", 4, 10), ("frames", 10, 10), ("faces", 1, 2)]


def test_bars_draw_each_report_and_close_when_full() -> None:
    import io

    from rich.console import Console

    from affcurate.commands._progress import Bars

    out = io.StringIO()
    bars = Bars(Console(file=out, width=80))
    for done in range(3):
        bars("probe [1/2]", done, 2)  # markup in what is drawn stays text
    bars("probe [1/2]", 2, 2)  # a last word on a bar already full draws nothing more
    text = out.getvalue()
    assert text.count("probe [1/2]") == 1 and "2/2" in text
