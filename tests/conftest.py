"""Shared fixtures: the real sample media, fetched once into the cache by `make test`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from affcurate.errors import AffcurateError  # noqa: E402
from affcurate.samples import fetch  # noqa: E402


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of the sample media; skips (with the reason) only when the registry cannot be reached."""
    try:
        return fetch(quiet=True)
    except AffcurateError as exc:
        pytest.skip(f"sample media unavailable: {exc}")


@pytest.fixture
def copy_sample(samples: Path, tmp_path: Path):
    """Copy a sample file into a folder under tmp_path (real file, safe to modify)."""

    def _copy(name: str, folder: str = "src", as_name: str | None = None) -> Path:
        dest = tmp_path / folder
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(samples / name, dest / (as_name or name)))

    return _copy
