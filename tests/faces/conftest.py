from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from affcurate.flow import ingest
from affcurate.workspace import Workspace


@pytest.fixture(scope="session")
def faces_ws(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The sample videos ingested with the faces stage (default settings)."""
    src = tmp_path_factory.mktemp("faces-src")
    for name in ["single_face.mp4", "face_noface.mov", "no_face.mp4"]:
        shutil.copy(samples / name, src / name)
    ws = Workspace.init(tmp_path_factory.mktemp("faces") / "ws")
    result = ingest(ws, src)
    assert result.n_failed == 0
    return ws
