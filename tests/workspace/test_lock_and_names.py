"""One writer per workspace, temporaries that a later writer cleans, and one full-match name check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.lock import WorkspaceBusyError, clean_stale_temporaries
from affcurate.names import check_name, is_safe_name
from affcurate.workspace import Workspace


@pytest.mark.parametrize("bad", ["alice\n", "..", "../x", "/abs", "a/b", "", ".hidden", "a..b", "x" * 129,
                                 "bad name", "é", None, 3])
def test_unsafe_names_are_refused_by_full_match(bad):
    assert not is_safe_name(bad)
    with pytest.raises(AffcurateError, match="invalid run name"):
        check_name(bad, "run name", "--name")


def test_safe_names_pass():
    for good in ["alice", "run-1", "A.b_c", "0", "x" * 128]:
        assert check_name(good) == good


def test_second_writer_is_refused_naming_the_holder(tmp_path: Path, hold_lock):
    ws = Workspace.init(tmp_path / "ws")
    with hold_lock(ws.root, "affcurate merge ws") as holder:
        with pytest.raises(WorkspaceBusyError) as info:
            with ws.writing("affcurate split ws"):
                pass
        msg = str(info.value)
        assert "affcurate merge ws" in msg and f"pid {holder.pid}" in msg and "\n" not in msg
    with ws.writing("affcurate split ws"):  # the holder is gone: the lock is free again
        pass


def test_lock_is_reentrant_in_one_process(tmp_path: Path):
    ws = Workspace.init(tmp_path / "ws")
    entered = []
    with ws.writing("affcurate run"):
        with ws.writing("affcurate merge"):  # a stage of the run takes the lock its run holds
            entered.append("merge")
        with ws.writing("affcurate split"):
            entered.append("split")
    assert entered == ["merge", "split"]
    with ws.writing("affcurate report"):  # and it is free again afterwards
        entered.append("report")
    assert entered[-1] == "report"


def test_a_writer_removes_temporaries_of_killed_writers_only(tmp_path: Path):
    ws = Workspace.init(tmp_path / "ws")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (ws.root / "videos").mkdir()
    stale = ws.root / "videos" / f".v1.mp4.~{dead}~abc123.mp4"
    stale.write_bytes(b"half a video")
    live = ws.root / f".labels.parquet.~{os.getpid()}~xyz.parquet"
    live.write_bytes(b"being written")
    user_file = ws.root / "videos" / ".notes"
    user_file.write_text("mine")
    with ws.writing("affcurate ingest"):
        pass
    assert not stale.exists()
    assert live.exists() and user_file.exists()
    assert clean_stale_temporaries(ws.root) == []


def test_atomic_temporaries_carry_the_writer_pid(tmp_path: Path):
    with io.atomic_path(tmp_path / "t.json") as tmp:
        assert f".~{os.getpid()}~" in tmp.name
        tmp.write_text("{}")
    assert (tmp_path / "t.json").read_text() == "{}"


def test_a_huge_name_is_quoted_short():
    with pytest.raises(AffcurateError) as info:
        check_name("x/" * 50_000, "annotator name")
    assert len(str(info.value)) < 200 and "..." in str(info.value)
