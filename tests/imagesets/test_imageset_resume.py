"""A killed image-set ingest, started again, redoes only the shards it had not finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from cli_code import exit_code

from affcurate.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _ledgers(ws_dir: Path) -> dict[str, int]:
    d = ws_dir / ".affcurate" / "done" / "imageset"
    return {p.stem: p.stat().st_mtime_ns for p in d.glob("*.json")} if d.exists() else {}


def test_a_killed_ingest_resumes_at_the_first_unfinished_shard(stills, tmp_path):
    folder = stills("imgs", flips=5)  # 36 real faces in 12 shards of 3
    ws_dir = tmp_path / "ws"
    argv = ["ingest", str(ws_dir), "--images", str(folder), "--shard-size", "3"]
    proc = subprocess.Popen([sys.executable, "-m", "affcurate", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "120"})
    deadline = time.monotonic() + 300
    while not _ledgers(ws_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # as a user's kill -9 or a machine that goes down
    proc.wait()
    before = _ledgers(ws_dir)
    assert 1 <= len(before) < 12, f"the run was to be killed after its first shard, it had {len(before)}"
    ws = Workspace.open(ws_dir)
    images = pd.read_parquet(ws.images_path)
    assert len(images) == 36  # the rows were written before the first shard
    faces_before = {s: ws.faces_path(s).stat().st_mtime_ns for s in before}

    assert exit_code(argv) == 0

    after = _ledgers(ws_dir)
    assert len(after) == 12
    assert {s: after[s] for s in before} == before  # finished shards were not redone
    assert {s: ws.faces_path(s).stat().st_mtime_ns for s in before} == faces_before
    images = pd.read_parquet(ws.images_path)
    assert (images["status"] == "ok").all() and images["error"].isna().all()
    # nothing half-written is left behind by the killed run
    leftovers = [p for p in ws_dir.rglob(".*~*~*") if p.is_file()]
    assert leftovers == []


def test_a_rerun_with_other_faces_settings_redoes_every_shard(stills, tmp_path):
    folder = stills("imgs", flips=0)
    ws_dir = tmp_path / "ws"
    argv = ["ingest", str(ws_dir), "--images", str(folder), "--shard-size", "4"]
    assert exit_code(argv) == 0
    first = _ledgers(ws_dir)
    assert exit_code(["ingest", str(ws_dir)]) == 0  # no source: the workspace's image sets, resumed
    assert _ledgers(ws_dir) == first
    toml = ws_dir / "affcurate.toml"
    text = toml.read_text()
    assert "crop_size = 112" in text
    toml.write_text(text.replace("crop_size = 112", "crop_size = 96"))
    assert exit_code(argv) == 0
    again = _ledgers(ws_dir)
    assert set(again) == set(first) and all(again[s] != first[s] for s in first)
    import h5py

    with h5py.File(ws_dir / "crops" / "imgs-00000.h5") as h5:
        assert h5["crops"].shape[1:] == (96, 96, 3)


def test_a_pool_of_workers_writes_the_same_shards_as_one_process(stills, tmp_path):
    folder = stills("imgs", flips=1)
    one, two = tmp_path / "one", tmp_path / "two"
    assert exit_code(["ingest", str(one), "--images", str(folder), "--shard-size", "5"]) == 0
    assert exit_code(["ingest", str(two), "--images", str(folder), "--shard-size", "5", "--jobs", "2"]) == 0
    import h5py
    import numpy as np

    from affcurate.faces.table import FaceTracks

    a, b = pd.read_parquet(one / "images.parquet"), pd.read_parquet(two / "images.parquet")
    pd.testing.assert_frame_equal(a, b)
    for shard in a["shard"].unique():
        ta, tb = FaceTracks.read_path(one / "faces" / f"{shard}.parquet"), FaceTracks.read_path(
            two / "faces" / f"{shard}.parquet")
        assert np.array_equal(ta.frame, tb.frame) and np.allclose(ta.boxes, tb.boxes)
        with h5py.File(one / "crops" / f"{shard}.h5") as ha, h5py.File(two / "crops" / f"{shard}.h5") as hb:
            assert np.array_equal(ha["crops"][:], hb["crops"][:])
