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


@pytest.fixture(scope="session")
def assert_same_video():
    """Two encodes of the same frames: same frame count and pictures within a fraction of a grey level.

    x264 does not always produce the same bits for the same frames when runs differ in timing (seen within one
    process), so tests that compare two runs compare what is decoded, not the bytes."""
    import av
    import numpy as np

    def _check(a: Path, b: Path) -> None:
        with av.open(str(a)) as ca, av.open(str(b)) as cb:
            fa = [f.to_ndarray(format="gray").astype(np.int16) for f in ca.decode(video=0)]
            fb = [f.to_ndarray(format="gray").astype(np.int16) for f in cb.decode(video=0)]
        assert len(fa) == len(fb), f"{a.name}: {len(fa)} frames against {len(fb)}"
        worst = max(float(np.abs(x - y).mean()) for x, y in zip(fa, fb, strict=True))
        assert worst < 0.5, f"{a.name}: a frame differs by {worst:.2f} grey levels on average"

    return _check


@pytest.fixture(scope="session")
def validate_rows():
    """Check the first rows of a table against its JSON Schema in schemas/ (the contract between stages)."""
    import json

    import jsonschema
    import numpy as np
    import pandas as pd

    def _check(name: str, df: pd.DataFrame) -> None:
        schema = json.loads((Path(__file__).parents[1] / "schemas" / f"{name}.schema.json").read_text())
        for rec in df.head(50).to_dict("records"):
            clean = {}
            for k, v in rec.items():
                if isinstance(v, np.ndarray):
                    v = [list(map(float, p)) for p in v]
                elif v is None or v is pd.NA or (not isinstance(v, (list, str)) and v != v):
                    v = None
                elif isinstance(v, np.generic):
                    v = v.item()
                clean[k] = v
            jsonschema.validate(clean, schema)

    return _check


@pytest.fixture
def hold_lock():
    """``with hold_lock(root, command) as holder:`` another process holds the workspace's writer lock."""
    import subprocess
    import sys
    import textwrap
    from contextlib import contextmanager

    @contextmanager
    def _hold(root, command: str):
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import time
                from affcurate.lock import writer_lock
                with writer_lock({str(root)!r}, {command!r}):
                    print("held", flush=True)
                    time.sleep(60)
            """)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            yield holder
        finally:
            holder.kill()
            holder.wait()

    return _hold


DUO_HALF = (320, 360)
"""Each person's half of the ``duo`` video, in pixels."""


@pytest.fixture(scope="session")
def duo(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-person video: two sample clips side by side, 45 frames (the man of single_face left, Wolfgang
    right)."""
    import av
    import cv2
    import numpy as np

    def frames(path: Path, n: int = 45) -> list:
        out = []
        with av.open(str(path)) as c:
            for f in c.decode(video=0):
                out.append(cv2.resize(f.to_ndarray(format="rgb24"), DUO_HALF, interpolation=cv2.INTER_AREA))
                if len(out) == n:
                    break
        return out

    left, right = frames(samples / "single_face.mp4"), frames(samples / "WolfgangLanger_Pexels.mp4")
    path = tmp_path_factory.mktemp("duo") / "duo.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 2 * DUO_HALF[0], DUO_HALF[1], "yuv420p"
        for a, b in zip(left, right, strict=True):
            for packet in s.encode(av.VideoFrame.from_ndarray(np.hstack([a, b]), format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path
