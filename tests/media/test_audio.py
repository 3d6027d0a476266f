"""Ingest keeps the sound in the 30 fps file, on the frame map's clock."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from affcurate.flow import ingest
from affcurate.workspace import Workspace


def _streams(path: Path) -> tuple[tuple[float, float], tuple[float, float] | None, np.ndarray | None]:
    """(start, end) of the video and of the audio as decoded, and the audio's mono samples."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        vt = [f.pts * float(v.time_base) for f in c.decode(v)]
        video = (vt[0], vt[-1] + 1 / 30)
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return video, None, None
        a = c.streams.audio[0]
        frames = list(c.decode(a))
        start = frames[0].pts * float(a.time_base)
        pcm = np.concatenate([f.to_ndarray().mean(axis=0) for f in frames])
        return video, (start, start + len(pcm) / a.rate), pcm


@pytest.fixture(scope="module")
def with_sound(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    src = tmp_path_factory.mktemp("videos")
    for name in ("single_face.mp4", "face_noface.mov"):
        shutil.copy(samples / name, src / name)
    # the same picture without its sound track
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(samples / "single_face.mp4"),
                    "-an", "-c:v", "copy", str(src / "silent.mp4")], check=True)
    ws = Workspace.init(tmp_path_factory.mktemp("ws") / "ws")
    assert ws.settings.ingest.keep_audio  # the default
    assert ingest(ws, src, faces=False).n_failed == 0
    return ws


@pytest.mark.parametrize("vid", ["single_face", "face_noface"])
def test_audio_starts_and_ends_with_the_video(with_sound: Workspace, vid: str) -> None:
    video, audio, _ = _streams(with_sound.video_path(vid))
    assert audio is not None, "the sound was dropped"
    frame = 1 / 30
    assert abs(audio[0] - video[0]) <= frame
    # AAC decodes in blocks of 1024 samples: the tail may run past the last frame by less than one block
    assert abs(audio[1] - video[1]) <= frame


def test_late_sound_stays_at_its_source_time(with_sound: Workspace, samples: Path) -> None:
    """face_noface.mov's sound starts 2.43 s after its first frame: the 30 fps file is silent until then."""
    with av.open(str(samples / "face_noface.mov")) as c:
        a, v = c.streams.audio[0], c.streams.video[0]
        late = a.start_time * float(a.time_base) - v.start_time * float(v.time_base)
    assert late == pytest.approx(2.43, abs=0.01)
    fm = with_sound.frame_map("face_noface")
    assert fm["src_time"].iloc[0] == 0.0
    _, _, pcm = _streams(with_sound.video_path("face_noface"))
    rate = 44100
    first_sound = int(np.flatnonzero(np.abs(pcm) > 1e-4)[0])
    # the first sound falls within one 30 fps frame of the source time, as frame i does at i/30
    assert abs(first_sound / rate - late) <= 1 / 30
    assert not np.any(np.abs(pcm[: int((late - 1 / 30) * rate)]) > 1e-4)


def test_sound_matches_the_source_sample_for_sample(with_sound: Workspace, samples: Path) -> None:
    """single_face.mp4 starts its sound with its picture: the kept sound is the source's, with no shift."""
    with av.open(str(samples / "single_face.mp4")) as c:
        src = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
    _, _, out = _streams(with_sound.video_path("single_face"))
    n = min(len(src), len(out)) - 4000
    errors = {d: float(np.abs(src[2000:2000 + n] - out[2000 + d:2000 + d + n]).mean()) for d in range(-400, 401, 4)}
    assert min(errors, key=errors.get) == 0


def test_a_source_without_sound_still_ingests(with_sound: Workspace) -> None:
    m = with_sound.manifest().set_index("video_id")
    assert m.loc["silent", "status"] == "ok" and not m.loc["silent", "has_audio"]
    _, audio, _ = _streams(with_sound.video_path("silent"))
    assert audio is None
    assert len(with_sound.frame_map("silent")) == 72


def test_keep_audio_false_drops_the_sound(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "single_face.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ws.save_settings(ws.settings.replace("ingest", keep_audio=False))
    assert ingest(ws, src, faces=False).n_failed == 0
    assert _streams(ws.video_path("single_face"))[1] is None
