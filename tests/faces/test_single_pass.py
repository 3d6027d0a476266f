"""One decoding pass: the faces stage fed by the media stage as it encodes gives what it gives alone on the file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.executor import ExecutorSpec
from affcurate.faces.stage import faces_of_encoded_frames, find_faces
from affcurate.faces.status import read_status
from affcurate.flow import ingest
from affcurate.io import parquet_metadata
from affcurate.media.ingest import ingest_media
from affcurate.workspace import Workspace

VIDEOS = ["single_face.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4"]


def _outputs(ws: Workspace) -> dict[str, tuple[pd.DataFrame, dict, np.ndarray, np.ndarray]]:
    out = {}
    for vid in ws.video_ids():
        with h5py.File(ws.crops_path(vid)) as h5:
            crops, frames = h5["crops"][:], h5["frames"][:]
        out[vid] = (pd.read_parquet(ws.faces_path(vid)), parquet_metadata(ws.faces_path(vid)), crops, frames)
    return out


@pytest.fixture(scope="module")
def source(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in VIDEOS:
        shutil.copy(samples / name, src / name)
    return src


@pytest.mark.parametrize("jobs", [1, 2])
def test_single_pass_gives_the_tables_and_crops_of_the_faces_stage_alone(source: Path, tmp_path: Path,
                                                                        jobs: int) -> None:
    ws = Workspace.init(tmp_path / "ws")
    media = ingest_media(ws, source, spec=ExecutorSpec("local", jobs), frames_to=faces_of_encoded_frames)
    # every video's faces came from the encoding pass, none from reading its file
    assert sorted(media.later) == sorted(ws.video_ids())
    assert all(not r["value"]["skipped"] for r in media.later.values())
    one_pass = _outputs(ws)
    assert sum(len(t) for t, *_ in one_pass.values()) > 200  # real faces, not empty tables
    for vid in ws.video_ids():
        ws.clear_done("faces", vid)
    alone = find_faces(ws, spec=ExecutorSpec("local", jobs))  # decodes each 30 fps file
    assert not alone["skipped"].any()
    for vid, (table, meta, crops, frames) in _outputs(ws).items():
        pd.testing.assert_frame_equal(table, one_pass[vid][0])
        assert meta == one_pass[vid][1]
        assert np.array_equal(frames, one_pass[vid][3]) and np.array_equal(crops, one_pass[vid][2]), vid


def test_ingest_runs_both_stages_in_one_pass_and_resumes(source: Path, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    first = ingest(ws, source, spec=ExecutorSpec("local", 2))
    assert first.n_failed == 0
    s = first.summary.set_index("video_id")
    assert s.loc["single_face", "faces_status"] == "ok" and s.loc["no_face", "faces_status"] == "no_face"
    status = read_status(ws).set_index("video_id")
    assert sorted(status.index) == sorted(ws.video_ids())
    before = {vid: ws.faces_path(vid).stat().st_mtime_ns for vid in ws.video_ids()}
    again = ingest(ws, source)
    assert again.summary["skipped"].all()
    assert again.summary["faces_status"].tolist() == first.summary["faces_status"].tolist()
    assert {vid: ws.faces_path(vid).stat().st_mtime_ns for vid in ws.video_ids()} == before


def test_faces_redone_alone_when_only_the_faces_are_missing(source: Path, tmp_path: Path) -> None:
    """A run killed between a video's transcode and its faces: the next run does the faces from the file."""
    ws = Workspace.init(tmp_path / "ws")
    assert ingest(ws, source).n_failed == 0
    table = pd.read_parquet(ws.faces_path("single_face"))
    ws.clear_done("faces", "single_face")
    ws.faces_path("single_face").unlink()
    again = ingest(ws, source)
    s = again.summary.set_index("video_id")
    assert s["skipped"].all() and s.loc["single_face", "faces_status"] == "ok"
    pd.testing.assert_frame_equal(pd.read_parquet(ws.faces_path("single_face")), table)


def test_a_corrupt_clip_fails_alone(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    shutil.copy(samples / "no_face.mp4", src / "sky.mp4")
    (src / "corrupt.mp4").write_bytes((samples / "WolfgangLanger_Pexels.mp4").read_bytes()[:120_000])
    ws_dir = tmp_path / "ws"
    with pytest.raises(SystemExit) as e:
        main(["ingest", str(ws_dir), "--videos", str(src), "--jobs", "2"])
    assert e.value.code == 1
    m = Workspace.open(ws_dir).manifest().set_index("video_id")
    assert m.loc["corrupt", "status"] == "error"
    assert "truncated" in m.loc["corrupt", "error"] and "\n" not in m.loc["corrupt", "error"]
    assert m.loc["good", "status"] == "ok" and m.loc["good", "faces_status"] == "ok"
    assert m.loc["sky", "status"] == "ok" and m.loc["sky", "faces_status"] == "no_face"


def test_a_faces_failure_leaves_the_transcode_done(samples: Path, tmp_path: Path) -> None:
    """The detector cannot start (the fan backend's weights are not on disk): every video is transcoded, its
    faces are an error of their own, and fixing the setting redoes only the faces."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ws.save_settings(ws.settings.replace("faces", detector="fan"))
    result = ingest(ws, src)
    row = result.summary.set_index("video_id").loc["good"]
    assert row["status"] == "ok" and row["faces_status"] == "error"
    assert "\n" not in row["faces_error"] and "fan" in row["faces_error"].lower()
    assert result.n_failed == 1
    assert ws.video_path("good").exists() and not ws.faces_path("good").exists()
    assert not [p.name for p in ws.root.rglob("*") if "~" in p.name]  # no working file left behind
    ws.save_settings(ws.settings.replace("faces", detector="centerface"))
    fixed = ingest(ws, src)
    row = fixed.summary.set_index("video_id").loc["good"]
    assert row["skipped"] and row["faces_status"] == "ok"


def test_a_killed_single_pass_resumes_without_redoing_finished_videos(source: Path, tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    cmd = [sys.executable, "-m", "affcurate", "ingest", str(ws_dir), "--videos", str(source)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done = ws_dir / ".affcurate" / "done" / "faces"
    deadline = time.time() + 300
    while time.time() < deadline and not (done.exists() and any(done.glob("[!.]*.json"))):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.stem for p in done.glob("[!.]*.json")}
    assert 1 <= len(finished) < len(VIDEOS)
    ws = Workspace.open(ws_dir)
    stamps = {vid: ws.faces_path(vid).stat().st_mtime_ns for vid in finished}
    result = ingest(ws, source)
    assert result.n_failed == 0
    s = result.summary.set_index("video_id")
    assert s.loc[sorted(finished), "skipped"].all() and not s["skipped"].all()
    assert {vid: ws.faces_path(vid).stat().st_mtime_ns for vid in finished} == stamps
    for vid in ws.video_ids():
        assert ws.faces_path(vid).exists() and ws.crops_path(vid).exists()
        with h5py.File(ws.crops_path(vid)) as h5:
            assert len(h5["crops"]) == len(h5["frames"])
    # what the kill left half written is gone, and never took a video's name
    assert not [p.name for p in ws.root.rglob("*") if "~" in p.name]
