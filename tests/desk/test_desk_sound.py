"""The desk's sound as an annotator meets it: the waveform of the ingested video under the timeline, heard at 1×
from the frame on screen, muted at other speeds, S to switch it off and on, and a video or a machine without
sound.

Videos are ingested with ``keep_audio = true``; playing goes through pygame's mixer with SDL's dummy audio driver
(a device that plays to nowhere, at the device's pace), so the real playback path runs without a sound card.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from affcurate.flow import ingest
from affcurate.workspace import Workspace
from annotator_gui import sound
from annotator_gui.sound import RATE, decode
from annotator_gui.window import Desk

SOUND = "face_noface"  # 192 frames; its sound starts 2.43 s in (frame 72), silence before
SHORT = "single_face"  # 72 frames, quiet noise from the first frame
SOURCES = {SOUND: "face_noface.mov", SHORT: "single_face.mp4"}


def _ingested(samples: Path, tmp: Path, keep_audio: bool) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES.values():
        shutil.copy(samples / name, src / name)
    ws = Workspace.init(tmp / "ws")
    ws.save_settings(ws.settings.replace("ingest", keep_audio=keep_audio))
    assert ingest(Workspace.open(ws.root), src).n_failed == 0
    return ws.root


@pytest.fixture(scope="module")
def with_sound(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ingested(samples, tmp_path_factory.mktemp("sound"), keep_audio=True)


@pytest.fixture(scope="module")
def without_sound(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ingested(samples, tmp_path_factory.mktemp("silent"), keep_audio=False)


@pytest.fixture
def open_desk(qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A desk on a fresh copy of a workspace, shown and active, with SDL's dummy audio device."""
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")

    def _open(root: Path, video: str = SOUND) -> Desk:
        copy = tmp_path / f"ws{len(list(tmp_path.iterdir()))}"
        shutil.copytree(root, copy)
        d = Desk(Workspace.open(copy), "alice", video=video, task="au", joystick="off")
        qtbot.addWidget(d)
        d.show()
        d.activateWindow()
        assert QTest.qWaitForWindowActive(d)
        return d

    return _open


def key(d: Desk, k, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k)


def source_peaks(path: Path, n_frames: int, fps: float = 30.0) -> np.ndarray:
    """Per frame of the 30 fps grid, the loudest sample of the source file's first audio stream, read here at its
    own rate and placed by its own timestamps (the source's video starts at 0)."""
    peaks = np.zeros(n_frames)
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.audio[0]):
            x = np.abs(frame.to_ndarray().astype(np.float64)).max(axis=0)
            f = ((frame.time + np.arange(len(x)) / frame.sample_rate) * fps).astype(int)
            keep = f < n_frames
            np.maximum.at(peaks, f[keep], x[keep])
    return peaks


def columns(d: Desk, a: int, b: int) -> slice:
    """The waveform's pixel columns over frames a to b (exclusive), as the timeline places them."""
    x0 = d.timeline.x_of(a) - d.timeline.HEADER
    return slice(int(np.ceil(x0)), int(d.timeline.x_of(b) - d.timeline.HEADER))


def test_the_waveform_is_the_ingested_video_s_sound_frame_for_frame(open_desk, with_sound: Path, samples: Path):
    d = open_desk(with_sound)
    track = d.waveform.track
    assert d.n_frames == 192 and len(track.samples) == round(192 / 30 * RATE)
    ours = track.frame_peaks(d.n_frames) / 32768
    theirs = source_peaks(samples / SOURCES[SOUND], d.n_frames)
    heard = theirs > 0.01
    assert heard[:72].sum() == 0 and heard[75:].all()  # the source's silence, then its sound
    # the same frames are loud in the desk as in the source, and silent where it is silent
    assert (ours[~heard] < 0.005).all() and (ours[heard[:] & (theirs > 0.05)] > 0.02).all()
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    lo, hi = d.waveform.envelope()  # what is drawn: the whole video is in view
    assert len(hi) == d.timeline.width() - d.timeline.HEADER - 4
    assert np.abs(hi[columns(d, 0, 70)]).max() < 0.01 and (hi[columns(d, 80, 190)] > 0.05).mean() > 0.9
    assert (lo[columns(d, 80, 190)] < -0.05).mean() > 0.9
    d.timeline.zoom(0.25)  # zoomed in on frame 0: the waveform follows the timeline's window
    d.seek(150)
    lo, hi = d.waveform.envelope()
    a, b = d.timeline.start, d.timeline.start + d.timeline.span
    shown = track.samples[track.offset(a):track.offset(b)]
    assert a > 72 and hi.max() == pytest.approx(min(shown.max() / track.level, 1))
    assert lo.min() == pytest.approx(max(shown.min() / track.level, -1))


def test_after_switching_video_the_waveform_is_the_new_video_s(open_desk, with_sound: Path, qtbot):
    d = open_desk(with_sound)
    first = d.waveform.envelope()[1]
    assert np.abs(first[columns(d, 0, 70)]).max() < 0.01
    key(d, Qt.Key.Key_PageDown)
    assert d.video_id == SHORT and d.timeline.n_frames == 72
    track = d.waveform.track
    assert np.array_equal(track.samples, decode(d.ws.video_path(SHORT), 30.0, 72).samples)
    lo, hi = d.waveform.envelope()
    assert len(track.samples) == round(72 / 30 * RATE) and len(hi) == len(first)
    loud = np.maximum(hi, -lo)[columns(d, 0, 70)]
    assert (loud > 0.01).mean() > 0.9  # single_face's noise from the first frame, not the silence before
    assert hi.max() == pytest.approx(min(track.samples.max() / track.level, 1))  # all of it in view, only it
    d.waveform.grab()
    key(d, Qt.Key.Key_PageUp)
    assert np.array_equal(d.waveform.envelope()[1], first)


def test_at_1x_the_sound_plays_from_the_frame_on_screen_and_stops_with_the_video(open_desk, with_sound: Path):
    d = open_desk(with_sound)
    d.seek(100)
    key(d, Qt.Key.Key_Space)
    player = d.sound.player
    assert d.playing and player.busy and d.waveform.state == "♪ on" and not d.waveform.muted
    assert player.offset == round(100 / 30 * RATE)
    import pygame.sndarray  # imported by the desk (quietly) by now

    heard = pygame.sndarray.array(player.sound)
    assert np.array_equal(heard, d.waveform.track.samples[player.offset:])
    assert not np.array_equal(heard[:4000], d.waveform.track.samples[:4000])
    d.seek(150)  # a seek while playing: the sound goes on from there
    assert player.busy and player.offset == round(150 / 30 * RATE)
    key(d, Qt.Key.Key_Space)
    assert not d.playing and not player.busy
    key(d, Qt.Key.Key_Space)
    assert player.busy
    key(d, Qt.Key.Key_PageDown)  # another video: the sound of this one stops
    assert not d.playing and not player.busy


def test_at_other_speeds_the_sound_is_muted(open_desk, with_sound: Path):
    d = open_desk(with_sound)
    d.seek(90)
    key(d, Qt.Key.Key_BracketRight, 2)
    assert d.playback.speed == 2.0
    key(d, Qt.Key.Key_Space)
    assert d.playing and not d.sound.player.busy
    assert d.waveform.state == "muted at 2×" and d.waveform.muted
    key(d, Qt.Key.Key_BracketLeft, 2)  # back to 1× while playing: heard again, from the frame on screen
    assert d.playback.speed == 1.0 and d.sound.player.busy and not d.waveform.muted
    assert d.sound.player.offset == d.waveform.track.offset(d.current)
    key(d, Qt.Key.Key_BracketLeft)
    assert not d.sound.player.busy and d.waveform.state == "muted at 0.75×"


def test_s_switches_the_sound_off_and_on_and_says_so(open_desk, with_sound: Path):
    d = open_desk(with_sound)
    key(d, Qt.Key.Key_Space)
    assert d.sound.player.busy
    key(d, Qt.Key.Key_S)
    assert not d.sound.on and not d.sound.player.busy and d.playing
    assert d.waveform.state == "off (S)" and d.waveform.muted and d.statusBar().currentMessage() == "sound off"
    key(d, Qt.Key.Key_S)
    assert d.sound.on and d.sound.player.busy and d.waveform.state == "♪ on"
    assert d.sound.player.offset == d.waveform.track.offset(d.current)
    assert d.statusBar().currentMessage() == "sound on"
    key(d, Qt.Key.Key_Space)
    key(d, Qt.Key.Key_S)
    key(d, Qt.Key.Key_Space)  # switched off while paused: playing stays silent
    assert d.playing and not d.sound.player.busy
    assert "Sound on / off" in d.help.text()


def test_a_long_video_s_sound_is_read_beside_the_desk_and_heard_once_there(open_desk, with_sound: Path, qtbot,
                                                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sound, "BACKGROUND_S", 1.0)  # both videos count as long
    d = open_desk(with_sound)
    qtbot.waitUntil(lambda: d.waveform.track is not None, timeout=20000)
    d.open_video(SHORT)  # no event handled in between: the desk is back before the track is there
    assert d.sound.reading and d.waveform.track is None and d.waveform.note == "reading the sound…"
    assert d.waveform.state == "reading"
    d.waveform.grab()
    d.play()
    qtbot.waitUntil(lambda: d.waveform.track is not None, timeout=20000)
    track = d.waveform.track
    assert np.array_equal(track.samples, decode(d.ws.video_path(SHORT), 30.0, 72).samples)
    if d.playing:  # still playing when it came: heard from a frame played on the way
        assert d.sound.player.busy and d.waveform.state == "♪ on"
        assert d.sound.player.offset in {track.offset(f) for f in range(d.current + 1)}
    d.pause()
    key(d, Qt.Key.Key_PageUp)  # read before: from the cache at once
    assert not d.sound.reading and d.waveform.track is not None


def test_a_video_without_sound_says_so_and_plays(open_desk, without_sound: Path, qtbot):
    d = open_desk(without_sound)
    assert d.waveform.track is None and d.sound.note == "no audio track"
    assert d.waveform.note == "no audio track" and d.waveform.state == "none"
    d.waveform.grab()  # paints the note instead of a waveform
    key(d, Qt.Key.Key_S)
    assert d.statusBar().currentMessage() == "no audio track: no sound to play on this video"
    key(d, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: d.current > 3, timeout=5000)
    assert not d.sound.player.busy
    key(d, Qt.Key.Key_Space)


def test_without_a_sound_device_the_desk_says_so_once_and_plays_on(open_desk, with_sound: Path, qtbot,
                                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-audio-driver")  # SDL finds no device to open
    d = open_desk(with_sound)
    key(d, Qt.Key.Key_Space)
    assert d.statusBar().currentMessage().startswith("no sound device: ")
    assert d.waveform.state == "no device" and d.waveform.muted
    qtbot.waitUntil(lambda: d.current > 3, timeout=5000)
    key(d, Qt.Key.Key_Space)
    d.statusBar().showMessage("something else")
    key(d, Qt.Key.Key_Space)
    assert d.playing and d.statusBar().currentMessage() == "something else"
    key(d, Qt.Key.Key_Space)


def test_screenshot_of_the_desk_with_its_waveform(open_desk, with_sound: Path, shots: Path):
    d = open_desk(with_sound)
    d.seek(120)
    d.set_mark_in()
    d.seek(140)
    d.set_mark_out()
    d.seek(130)
    d.grab().save(str(shots / "desk_sound.png"))
    QTest.mouseClick(d.waveform, Qt.MouseButton.LeftButton, pos=QPoint(int(d.timeline.x_of(100)) + 1, 20))
    assert d.current == 100  # a click on the waveform goes to the frame under it
    hi = d.waveform.envelope()[1]
    assert (hi[columns(d, 120, 141)] > 0.02).all() and d.waveform.timeline.mark == (120, 140)


def test_f5_opens_the_inter_rater_view_and_d_goes_to_the_next_disagreement(desk, disagreeing):
    d = desk()
    assert not d.raters.isVisible()
    key(d, Qt.Key.Key_F5)
    assert d.raters.isVisible() and d.raters._shown == (d.video_id, "au")
    assert "bob" in d.raters.heading.text() and "(D)" in d.raters.next_button.text()
    starts = [s.start for s in d.raters.raters.segments]
    assert len(starts) >= 2
    key(d, Qt.Key.Key_D)
    first = d.raters.raters.segments[0]
    assert d.current == first.start and d.target_range() == (first.start, first.end)
    key(d, Qt.Key.Key_D)
    assert d.current == starts[1]
    key(d, Qt.Key.Key_F5)
    assert not d.raters.isVisible()
    assert "Inter-rater view" in d.help.text()
