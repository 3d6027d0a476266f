"""Clips of the same people cut from the sample media (brightness, scale and mirror changed), under other names
and subject ids, ingested once (with the faces stage); each test works on its own copy of the workspace."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from affcurate.flow import ingest
from affcurate.workspace import Workspace

# video id -> (sample, first frame, frames, brightness, scale, mirror, given subject, person)
CLIPS = {
    "man_a": ("single_face.mp4", 0, 30, 1.0, 1.0, False, "p1", "man"),
    "man_b": ("single_face.mp4", 40, 30, 0.6, 1.0, True, "p2", "man"),  # darker, mirrored: another subject id
    "man_c": ("face_noface.mov", 0, 30, 1.0, 0.5, False, "p3", "man"),  # smaller: under the woman's id too
    "woman_a": ("WolfgangLanger_Pexels.mp4", 0, 30, 1.0, 1.0, False, "p3", "woman"),
    "woman_b": ("WolfgangLanger_Pexels.mp4", 200, 30, 1.3, 0.6, True, "w1", "woman"),
    "sky": ("face_noface.mov", 130, 24, 1.0, 0.5, False, "p4", None),  # no face
}


def cut_clip(src: Path, dest: Path, first: int, n: int, brightness: float, scale: float, mirror: bool) -> Path:
    """Frames ``first`` .. ``first + n`` of ``src``, changed, as an H.264 mp4 at 30 fps."""
    frames = []
    with av.open(str(src)) as c:
        for k, f in enumerate(c.decode(video=0)):
            if k >= first + n:
                break
            if k >= first:
                img = f.to_ndarray(format="rgb24")
                img = np.clip(img.astype(np.float32) * brightness, 0, 255).astype(np.uint8)
                if scale != 1.0:
                    h, w = img.shape[:2]
                    img = cv2.resize(img, (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2),
                                     interpolation=cv2.INTER_AREA)
                frames.append(img[:, ::-1] if mirror else img)
    with av.open(str(dest), "w") as out:
        st = out.add_stream("libx264", rate=30)
        st.height, st.width = frames[0].shape[:2]
        st.pix_fmt = "yuv420p"
        for img in frames:
            for p in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return dest


@pytest.fixture(scope="session")
def people_ws(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The clips ingested (media and faces) into one workspace, with their given subject ids."""
    src = tmp_path_factory.mktemp("people-src")
    rows = []
    for vid, (name, first, n, bright, scale, mirror, subject, _) in CLIPS.items():
        path = cut_clip(samples / name, src / f"{vid}.mp4", first, n, bright, scale, mirror)
        rows.append({"path": str(path), "video_id": vid, "subject": subject})
    listing = src / "list.csv"
    with open(listing, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "video_id", "subject"])
        w.writeheader()
        w.writerows(rows)
    ws = Workspace.init(tmp_path_factory.mktemp("people") / "ws")
    result = ingest(ws, list_csv=listing)
    assert result.n_failed == 0, result.summary
    return ws


@pytest.fixture(scope="session")
def described_ws(people_ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A copy of ``people_ws`` after one `affcurate subjects` run."""
    from affcurate.identity import subjects

    ws = Workspace.open(shutil.copytree(people_ws.root, tmp_path_factory.mktemp("described") / "ws"))
    subjects(ws)
    return ws


@pytest.fixture
def copy_ws(tmp_path: Path) -> Callable[[Workspace], Workspace]:
    """A test's own copy of a workspace."""

    def _copy(ws: Workspace) -> Workspace:
        return Workspace.open(shutil.copytree(ws.root, tmp_path / "ws"))

    return _copy
