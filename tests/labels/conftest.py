"""Small synthetic workspaces with real frame maps (written like ingest writes them) for label tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from grid_workspace import make_workspace

from affcurate.workspace import Workspace


@pytest.fixture
def small_ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", {"clip_a": {"n_src": 60, "src_fps": 30.0, "subject": "s1"},
                                            "clip_b": {"n_src": 48, "src_fps": 24.0, "subject": "s2"}})


@pytest.fixture
def make_ws():  # noqa: ANN201
    """The :func:`make_workspace` factory, for tests that need other videos."""
    return make_workspace


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path: equal digests mean nothing was written."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def digest():  # noqa: ANN201
    """The :func:`tree_digest` function."""
    return tree_digest
