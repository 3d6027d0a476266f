"""The desk's fixtures: sample videos ingested once, then a fresh copy of the workspace per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from affcurate.flow import ingest
from affcurate.workspace import Workspace

VIDEO = "WolfgangLanger_Pexels"  # 591 frames at 640x360, one face
SHORT = "single_face"  # 72 frames
CUTS = {"clip122": 122, "clip192": 192}
"""Videos of the lengths an annotator reported timeline bugs with, cut from the start of VIDEO."""


@pytest.fixture(scope="session")
def ingested(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("desk-src")
    for name in (f"{VIDEO}.mp4", f"{SHORT}.mp4"):
        shutil.copy(samples / name, src / name)
    root = tmp_path_factory.mktemp("desk") / "ws"
    result = ingest(Workspace.init(root), src)
    assert result.n_failed == 0
    return root


@pytest.fixture
def ws(ingested: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(ingested, root)
    return Workspace.open(root)


@pytest.fixture(scope="session")
def cut_ingested(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace of the CUTS: the first frames of VIDEO at 30 fps, encoded by the bundled ffmpeg."""
    import imageio_ffmpeg

    src = tmp_path_factory.mktemp("cut-src")
    for name, n in CUTS.items():
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(samples / f"{VIDEO}.mp4"),
                        "-vf", "fps=30", "-frames:v", str(n), "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        str(src / f"{name}.mp4")], check=True)
    root = tmp_path_factory.mktemp("cut") / "ws"
    result = ingest(Workspace.init(root), src)
    assert result.n_failed == 0
    return root


@pytest.fixture
def cut_ws(cut_ingested: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "cut-ws"
    shutil.copytree(cut_ingested, root)
    return Workspace.open(root)


@pytest.fixture
def desk(qtbot, ws: Workspace):
    """Open a desk (on ``ws`` unless another workspace is given), shown and active as an annotator has it."""
    from PySide6.QtTest import QTest

    from annotator_gui.window import Desk

    def _open(annotator: str = "alice", video: str = VIDEO, task: str = "au", workspace: Workspace | None = None):
        d = Desk(workspace or ws, annotator, video=video, task=task)
        qtbot.addWidget(d)
        d.show()
        d.activateWindow()
        assert QTest.qWaitForWindowActive(d)  # keys go to the active window's shortcuts
        return d

    return _open


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $AFFCURATE_SCREENSHOTS if set (to look at them), else the test's folder."""
    d = Path(os.environ.get("AFFCURATE_SCREENSHOTS", tmp_path / "shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def other_desk(ws: Workspace):
    """Another process holding (annotator, video) open, as a second desk would; yields its pid."""
    procs: list[subprocess.Popen] = []

    @contextlib.contextmanager
    def _hold(video: str, annotator: str):
        code = ("import time\nfrom affcurate.workspace import Workspace\nfrom annotator_gui.session import Session\n"
                f"s = Session(Workspace.open({str(ws.root)!r}), {video!r}, {annotator!r})\n"
                "print('open', flush=True)\ntime.sleep(120)")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        try:
            assert proc.stdout.readline().strip() == "open"
            yield proc.pid
        finally:
            proc.kill()
            proc.wait()

    yield _hold
    for p in procs:
        p.kill()
