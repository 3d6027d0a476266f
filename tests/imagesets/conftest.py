"""Fixtures of the image-set tests: folders of real still images (see still_images.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from still_images import make_stills


@pytest.fixture
def stills(samples: Path, tmp_path: Path):
    """Make a folder of real still images under tmp_path: the six sample JPEGs and mirrored copies."""

    def _make(folder: str = "imgs", flips: int = 1) -> Path:
        make_stills(samples, tmp_path / folder, flips)
        return tmp_path / folder

    return _make
