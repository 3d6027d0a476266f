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


@pytest.fixture
def no_countdown(ws: Workspace) -> Workspace:
    """``ws`` with ``[desk] countdown = 0``: a VA pass starts as soon as it is asked for (tests of the pass itself)."""
    ws.save_settings(ws.settings.replace("desk", countdown=0))
    return ws


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


@pytest.fixture
def disagreeing(ws: Workspace) -> Workspace:
    """``ws`` after alice and bob labelled it differently, and a real merge listed where they disagree: AU12 on
    VIDEO (0-29 and 90-119), its valence (300-359), and the expression of SHORT's second half."""
    from affcurate.labels.merge import merge
    from annotator_gui.session import Session

    for who, (a, b), v, cls in (("alice", (0, 89), 0.5, 1), ("bob", (30, 119), -0.5, 2)):
        s = Session(ws, VIDEO, who)
        s.edit({"k": "au", "au": "AU12", "s": a, "e": b, "p": 1})
        s.edit({"k": "va", "s": 300, "e": 359, "v": v, "a": 0.1})
        s.save()
        s.close()
        s = Session(ws, SHORT, who)
        s.edit({"k": "expr", "s": 0, "e": 35, "v": 1})
        s.edit({"k": "expr", "s": 36, "e": 71, "v": cls})
        s.save()
        s.close()
    merge(ws, drop_no_face=False)
    return ws


@pytest.fixture
def write_model():
    """Writes pre-labels of a model run as `affcurate predict` does: a machine source (``model``) with a per-frame
    ``confidence`` beside the values."""
    import numpy as np
    import pandas as pd

    from affcurate.labels.model import Annotation, write_annotation

    def _write(ws: Workspace, video: str, task: str, values: dict, confidence, run: str = "run1") -> None:
        n = len(next(iter(values.values())))
        data = {"frame": np.arange(n, dtype=np.int64)}
        for c, v in values.items():
            data[c] = pd.array(v, dtype="Int8") if task != "va" else np.asarray(v, dtype=np.float64)
        if confidence is not None:
            data["confidence"] = np.asarray(confidence, dtype=np.float64)
        # written as given (checked), confidence included, whatever validate keeps of a table
        write_annotation(ws, Annotation(video, task, run, pd.DataFrame(data), source="model", complete=True),
                         checked=True)

    return _write


@pytest.fixture
def predicted(ws: Workspace, write_model) -> Workspace:
    """``ws`` with a model's expressions of VIDEO (least sure on 60-89, then 300-329, sure from 500 on) and its
    AUs of SHORT (AU12 flickering on 30-59 where it is unsure, AU6 never on)."""
    import numpy as np

    conf = np.full(591, 0.9)
    conf[60:90], conf[300:330], conf[500:] = 0.2, 0.5, 1.0
    write_model(ws, VIDEO, "expr", {"expr": np.zeros(591, int)}, conf)
    au12 = np.zeros(72, int)
    au12[30:60:2] = 1
    conf = np.full(72, 0.95)
    conf[30:60] = 0.4
    write_model(ws, SHORT, "au", {"AU6": np.zeros(72, int), "AU12": au12}, conf)
    return ws
