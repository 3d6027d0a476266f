"""Every writing stage takes the workspace's writer lock at the library level, so the Python twin is protected
too; a workspace that cannot be made is one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.faces.stage import pick, run_faces
from affcurate.lock import WorkspaceBusyError
from affcurate.media.ingest import ingest
from affcurate.report import report
from affcurate.split import split
from affcurate.workspace import Workspace


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose writer lock another process holds as `affcurate merge`."""
    ws = Workspace.init(tmp_path / "ws")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from affcurate.lock import writer_lock
            with writer_lock({str(ws.root)!r}, "affcurate merge"):
                print("held", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield ws
    finally:
        holder.kill()
        holder.wait()


STAGES = {
    "ingest": lambda ws: ingest(ws),
    "faces run": lambda ws: run_faces(ws),
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
