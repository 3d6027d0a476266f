"""Shared pieces of the fuzzed corpora: a small workspace, a digest of every file in it, and the real CLI run
in-process with its exit code, output and any exception that escaped it."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.media.manifest import normalise
from affcurate.workspace import Workspace

# id -> (source frames, source fps); the fuzzed files refer to these videos
VIDEOS = {"clip_a": (60, 30.0), "SN001": (40, 20.0), "001": (10, 25.0), "dev_1": (50, 25.0),
          "img1": (1, 30.0), "img2": (1, 30.0)}


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path: equal digests mean nothing was written."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def make_fuzz_workspace(root: Path) -> Workspace:
    """A workspace whose manifest lists :data:`VIDEOS` (imports need no media), its writer lock taken once so
    that the lock file exists and every later digest can include it."""
    ws = Workspace.init(root)
    rows = [{"video_id": vid, "path": f"/data/{vid}.mp4", "kind": "video", "sha256": vid * 2, "status": "ok",
             "avg_fps": fps, "n_frames": n, "duration": n / fps, "out_frames": round(n / fps * 30),
             "width": 640, "height": 360, "rotation": 0} for vid, (n, fps) in VIDEOS.items()]
    ws.write_manifest(normalise(pd.DataFrame(rows)))
    with ws.writing("test setup"):
        pass
    return Workspace.open(root)


@dataclass
class Run:
    code: int | None
    out: str
    err: str
    crash: BaseException | None
    warnings: list[str]


@pytest.fixture
def fuzz_ws(tmp_path: Path) -> Workspace:
    return make_fuzz_workspace(tmp_path / "ws")


@pytest.fixture
def digest():  # noqa: ANN201
    """The :func:`tree_digest` function."""
    return tree_digest


@pytest.fixture
def run_cli(capsys):  # noqa: ANN001, ANN201
    """``run_cli(*args) -> Run``: the CLI as a user calls it; an exception that escapes ``main`` (a traceback
    for the user) and Python warnings (extra stderr lines for the user) are returned, not raised."""

    def _run(*args: object) -> Run:
        capsys.readouterr()
        crash, code = None, None
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                main([str(a) for a in args])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception as exc:  # noqa: BLE001 - whatever escapes is what the user would see
                crash = exc
        out, err = capsys.readouterr()
        return Run(code, out, err, crash, [f"{w.category.__name__}: {w.message}" for w in seen])

    return _run
