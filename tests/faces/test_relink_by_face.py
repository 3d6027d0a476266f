"""After a shot cut back to the subject under another colour cast, the colour histogram is ambiguous: the face
descriptors say it is the same person, so the subject stays one track; a second person is never joined to it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
from affcurate.workspace import Workspace

SIZE = (640, 360)


def _frames(path: Path, first: int, n: int, tint: tuple[float, float, float] = (1, 1, 1)) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for k, f in enumerate(c.decode(video=0)):
            if k >= first + n:
                break
            if k >= first:
                img = cv2.resize(f.to_ndarray(format="rgb24"), SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
                out.append(np.clip(img * np.array(tint, np.float32), 0, 255).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def cut_back(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The man (30 frames), a cut to the woman (30), a cut back to the man under warm light (30)."""
    man, woman = samples / "single_face.mp4", samples / "WolfgangLanger_Pexels.mp4"
    frames = _frames(man, 0, 30) + _frames(woman, 100, 30) + _frames(man, 35, 30, tint=(1.25, 0.95, 0.6))
    path = tmp_path_factory.mktemp("cut") / "cut_back.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_the_subject_is_one_track_across_a_cut_back_under_other_light(cut_back: Path, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    assert ingest(ws, cut_back.parent).n_failed == 0
    t = FaceTracks.read(ws, "cut_back")
    sub = t.target()
    frames = set(sub.frame.tolist())
    assert len(frames & set(range(0, 30))) >= 27 and len(frames & set(range(60, 90))) >= 27  # the man, both shots
    assert not frames & set(range(32, 58))  # never the woman
    woman = {int(k) for k in np.unique(t.track_id[(t.frame >= 32) & (t.frame < 58)])}
    assert woman and t.target_track not in woman
