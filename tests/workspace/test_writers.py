"""Every writing stage takes the workspace's writer lock at the library level, so the Python twin is protected
too; a workspace that cannot be made, or a folder that cannot be read, is one line."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.faces.stage import find_faces, pick
from affcurate.flow import ingest
from affcurate.lock import WorkspaceBusyError
from affcurate.reporting import report
from affcurate.splits import split
from affcurate.workspace import Workspace


@pytest.fixture
def held(tmp_path: Path, hold_lock) -> Iterator[Workspace]:
    """A workspace whose writer lock another process holds as `affcurate merge`."""
    ws = Workspace.init(tmp_path / "ws")
    with hold_lock(ws.root, "affcurate merge"):
        yield ws


STAGES = {
    "ingest": lambda ws: ingest(ws),
    "faces run": lambda ws: find_faces(ws),
    "faces pick": lambda ws: pick(ws, "v", 0),
    "split": lambda ws: split(ws),
    "report": lambda ws: report(ws),
    "settings": lambda ws: ws.save_settings(ws.settings),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_writing_stage_refuses_while_another_writes(held: Workspace, stage: str) -> None:
    before = sorted(p.relative_to(held.root) for p in held.root.rglob("*"))
    with pytest.raises(WorkspaceBusyError, match=r"being written by `affcurate merge` \(pid \d+"):
        STAGES[stage](held)
    assert sorted(p.relative_to(held.root) for p in held.root.rglob("*")) == before


def test_init_refuses_while_another_writes_the_new_folder(held: Workspace) -> None:
    held.settings_path.unlink()  # not a workspace yet, but someone is making it
    with pytest.raises(WorkspaceBusyError):
        Workspace.init(held.root)
    assert not held.settings_path.exists()


def test_workspace_under_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(AffcurateError, match=r"afile/ws: cannot create the workspace folder \(Not a directory\)"):
        Workspace.init(tmp_path / "afile" / "ws")
    for argv in (["init", str(tmp_path / "afile" / "ws")],
                 ["ingest", str(tmp_path / "afile" / "ws"), "--videos", str(tmp_path)]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Not a directory" in err


def _without_root_rights() -> None:
    """In the child before exec: drop the capabilities that let root ignore file permissions, so that a
    folder without read or write permission refuses this user as it refuses any other."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _cli_without_rights(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "affcurate", *args], capture_output=True, text=True,
                              preexec_fn=_without_root_rights, timeout=300)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot run a command without root's rights here: {exc}")


def test_unwritable_workspace_parent_is_one_line(tmp_path: Path) -> None:
    parent = tmp_path / "readonly"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        for args in (["init", str(parent / "ws")], ["ingest", str(parent / "ws"), "--videos", str(tmp_path)]):
            r = _cli_without_rights(*args)
            assert r.returncode == 2, r.stderr
            err = r.stderr.strip()
            assert "\n" not in err and "Traceback" not in err and "Permission denied" in err
            assert str(parent / "ws") in err
    finally:
        parent.chmod(0o755)
    assert list(parent.iterdir()) == []


def test_unreadable_subfolder_is_one_line_and_nothing_is_written(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    shutil.copy(samples / "no_face.mp4", src / "locked" / "hidden.mp4")
    ws = Workspace.init(tmp_path / "ws")
    (src / "locked").chmod(0)
    try:
        r = _cli_without_rights("ingest", str(ws.root), "--videos", str(src), "--no-faces")
    finally:
        (src / "locked").chmod(0o755)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"{src / 'locked'}: cannot read (Permission denied)" in err
    assert not ws.manifest_path.exists()


def test_read_only_workspace_is_one_line(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ws.root.chmod(0o555)
    try:
        r = _cli_without_rights("ingest", str(ws.root), "--videos", str(src), "--no-faces")
    finally:
        ws.root.chmod(0o755)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"{ws.root}: cannot write manifest.parquet here (Permission denied)" in err
    assert not ws.manifest_path.exists()


def test_the_done_ledger_answers_for_a_key(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    assert ws.ledger("faces", "v") is None and not ws.is_done("faces", "v", "k1")
    ws.mark_done("faces", "v", "k1", n_frames=3)
    assert ws.ledger("faces", "v", "k1") == {"key": "k1", "n_frames": 3} and ws.is_done("faces", "v", "k1")
    assert ws.ledger("faces", "v", "k2") is None and not ws.is_done("faces", "v", "k2")
    assert ws.ledger("faces", "v")["n_frames"] == 3
