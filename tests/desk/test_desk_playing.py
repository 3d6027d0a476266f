"""Playing as an annotator sees it: the countdown before a VA pass, playing the marked range, the play/pause
indicator."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from annotator_gui.journal import journal_path
from annotator_gui.view import PAUSED, PLAYING
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SCREENSHOTS = Path(__file__).parents[2] / "annotator_gui" / "screenshots"
SHIFT = Qt.KeyboardModifier.ShiftModifier


def key(d: Desk, k, mod=Qt.KeyboardModifier.NoModifier, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k, mod)


def _circle(d: Desk, t: float) -> QPoint:
    return d.pad.to_point(0.7 * math.cos(t), 0.7 * math.sin(t)).toPoint()


def _journalled(d: Desk) -> int:
    """Edits in the journal (its first line is the header; it is written with the first edit)."""
    path = journal_path(d.ws, d.annotator, d.video_id)
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


def test_a_pass_starts_after_a_3_second_countdown_that_records_nothing(desk, qtbot, shots: Path):
    d = desk(task="va")
    assert d.scheme.countdown == 3
    QTest.mouseMove(d.pad, d.pad.to_point(0.4, 0.3).toPoint())
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    tr = d.transport
    assert tr.counting and not d.playing
    assert d.pad.countdown == "3" and d.view.overlay == "3" and "● in 3" in d.info.text()
    qtbot.waitUntil(lambda: d.pad.countdown == "2", timeout=5000)
    assert d.view.overlay == "2" and "● in 2" in d.info.text()
    qtbot.waitUntil(lambda: d.pad.countdown == "1", timeout=5000)
    # during it: no frame played, no sample, nothing written to the labels or the journal
    assert d.current == 0 and not d.playing and d.va_samples == []
    assert np.isnan(d.session.labels.va).all() and _journalled(d) == 0
    qtbot.waitUntil(lambda: d.playing, timeout=5000)
    assert d.pad.countdown == "" and d.view.overlay == "" and not tr.counting
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        QTest.mouseMove(d.pad, _circle(d, time.monotonic() - t0))
        qtbot.wait(10)
    key(d, Qt.Key.Key_Space)
    frames = [f for _, f in d.va_samples]
    assert frames[0] == 0 and set(frames) == set(range(frames[-1] + 1))  # the pass begins on the frame it was
    d.grab().save(str(shots / "desk-va.png"))
    retake = os.environ.get("AFFCURATE_SCREENSHOTS")
    if retake:  # retaking the README's screenshots
        d.grab().save(str(SCREENSHOTS / "desk-va.jpg"), "JPG", 85)
    key(d, Qt.Key.Key_Space)  # the next pass counts down again
    assert tr.counting and d.pad.countdown == "3"
    d.grab().save(str(shots / "desk-va-countdown.png"))
    if retake:
        d.grab().save(str(SCREENSHOTS / "desk-va-countdown.jpg"), "JPG", 85)
    key(d, Qt.Key.Key_Space)
    assert not tr.counting and not d.playing


def test_the_key_that_started_the_countdown_cancels_it(desk, qtbot):
    d = desk(task="va")
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    assert d.transport.counting
    key(d, Qt.Key.Key_Space)  # cancelled: still armed, paused, no count shown
    assert not d.transport.counting and not d.playing and d.va.recording
    assert d.pad.countdown == "" and d.view.overlay == "" and f"{PAUSED} paused" in d.info.text()
    qtbot.wait(3300)  # past when the pass would have begun
    assert not d.playing and d.current == 0 and _journalled(d) == 0
    # armed while playing: playback stops for the countdown, and R again cancels it
    key(d, Qt.Key.Key_R)
    assert not d.va.recording
    key(d, Qt.Key.Key_Space)
    assert d.playing  # not armed: no countdown
    qtbot.waitUntil(lambda: d.current >= 3)
    key(d, Qt.Key.Key_R)
    assert d.transport.counting and not d.playing and d.va.recording
    at = d.current
    key(d, Qt.Key.Key_R)
    assert not d.transport.counting and not d.playing and not d.va.recording
    qtbot.wait(3300)
    assert d.current == at and not d.playing and np.isnan(d.session.labels.va).all()
    # switching video while a countdown runs cancels it
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    assert d.transport.counting
    key(d, Qt.Key.Key_PageDown if d.videos.index(VIDEO) == 0 else Qt.Key.Key_PageUp)  # another video
    assert not d.transport.counting and d.pad.countdown == ""


def test_arming_while_playing_counts_down_then_records_from_there(desk, qtbot, ws):
    ws.save_settings(ws.settings.replace("desk", countdown=1))
    d = desk(task="va")
    QTest.mouseMove(d.pad, d.pad.to_point(-0.5, 0.5).toPoint())
    key(d, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: d.current >= 10)
    key(d, Qt.Key.Key_R)
    at = d.current
    assert d.transport.counting and d.pad.countdown == "1"
    qtbot.waitUntil(lambda: d.playing, timeout=3000)
    qtbot.waitUntil(lambda: d.current >= at + 5)
    key(d, Qt.Key.Key_Space)
    rated = np.flatnonzero(~np.isnan(d.session.labels.va[:, 0]))
    assert rated[0] == at and np.array_equal(rated, np.arange(at, rated[-1] + 1))


def test_shift_space_plays_the_marked_range_and_stops_at_its_end(desk, qtbot):
    d = desk(task="expr")
    key(d, Qt.Key.Key_Space, SHIFT)  # nothing marked: says how to mark
    assert not d.playing and "no range marked" in d.statusBar().currentMessage()
    d.seek(30)
    key(d, Qt.Key.Key_I)
    d.seek(60)
    key(d, Qt.Key.Key_O)
    d.seek(200)
    shown: list[int] = []
    d.view.painted.connect(shown.append)
    key(d, Qt.Key.Key_Space, SHIFT)
    assert d.playing and d.view.badge == PLAYING and f"{PLAYING} playing to 60" in d.info.text()
    qtbot.waitUntil(lambda: not d.playing, timeout=5000)
    assert d.current == 60 and d.view.badge == PAUSED and f"{PAUSED} paused" in d.info.text()
    assert shown[0] == 30 and shown[-1] == 60 and shown == sorted(shown) and set(shown) <= set(range(30, 61))
    assert d.target_range() == (30, 60)  # the marks stay, to play again
    key(d, Qt.Key.Key_Space, SHIFT)
    assert d.playing and d.current == 30
    key(d, Qt.Key.Key_Space, SHIFT)  # the same key pauses
    assert not d.playing and 30 <= d.current <= 60
    assert "Shift+Space" in d.help.text() and "Play the marked range" in d.help.text()


def test_the_indicator_says_playing_or_paused(desk, qtbot):
    d = desk()
    assert d.view.badge == PAUSED and d.info.text().startswith(f"{PAUSED} paused")
    key(d, Qt.Key.Key_Space)
    assert d.view.badge == PLAYING and d.info.text().startswith(f"{PLAYING} playing")
    qtbot.waitUntil(lambda: d.current >= 2)
    key(d, Qt.Key.Key_Space)
    assert d.view.badge == PAUSED and d.info.text().startswith(f"{PAUSED} paused")
