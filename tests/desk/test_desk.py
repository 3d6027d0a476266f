"""The desk driven like an annotator drives it: real Qt widgets (offscreen), real keys, real videos."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from affcurate.cli import main as cli_main
from affcurate.faces.table import FaceTracks
from affcurate.labels.formats import import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import read_annotation
from affcurate.workspace import Workspace
from annotator_gui.journal import journal_path
from annotator_gui.session import Session
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SHORT = "single_face"
HERE = Path(__file__).parent


def key(d: Desk, k, mod=Qt.KeyboardModifier.NoModifier, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k, mod)


def decoded(ws: Workspace, vid: str, i: int) -> np.ndarray:
    with av.open(str(ws.video_path(vid))) as c:
        for k, f in enumerate(c.decode(video=0)):
            if k == i:
                return f.to_ndarray(format="rgb24")
    raise IndexError(i)


def test_opens_on_a_workspace_with_progress_frame_and_face_box(desk, ws: Workspace, qtbot):
    s = Session(ws, SHORT, "alice")
    s.edit({"k": "expr", "s": 0, "e": 35, "v": 2})
    s.save()
    s.close()
    d = desk()
    items = [d.video_list.item(i).text() for i in range(d.video_list.count())]
    by_id = {t.split("\n")[0]: t for t in items}
    assert set(by_id) == {SHORT, VIDEO}  # in the manifest's order
    assert "EXPR 50%" in by_id[SHORT] and "AU 0% · EXPR 0% · VA 0%" in by_id[VIDEO]
    qtbot.waitUntil(lambda: d.view.painted_index == 0)
    assert d.view.caption.startswith("frame 0 / 590")
    assert d.view.box == pytest.approx(tuple(FaceTracks.read(ws, VIDEO).box_at(0)))
    key(d, Qt.Key.Key_B)
    assert not d.view.show_box


def test_navigation_is_frame_exact(desk, ws: Workspace, qtbot):
    d = desk()
    key(d, Qt.Key.Key_Right, times=10)
    assert d.current == 10
    key(d, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert d.current == 40
    key(d, Qt.Key.Key_Left)
    assert d.current == 39
    key(d, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert d.current == 9
    key(d, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert d.jump.hasFocus()
    QTest.keyClicks(d.jump, "300")
    QTest.keyClick(d.jump, Qt.Key.Key_Return)
    assert d.current == 300
    qtbot.waitUntil(lambda: d.view.painted_index == 300)
    # what is on screen is frame 300 of the 30 fps file, reached by a seek
    assert np.array_equal(d.view._array, decoded(ws, VIDEO, 300))
    key(d, Qt.Key.Key_Left)  # a step back across nothing cached
    assert np.array_equal(d.view._array, decoded(ws, VIDEO, 299))
    key(d, Qt.Key.Key_End)
    assert d.current == 590
    key(d, Qt.Key.Key_Right)
    assert d.current == 590
    key(d, Qt.Key.Key_Home)
    assert d.current == 0
    key(d, Qt.Key.Key_BracketLeft, times=5)
    assert d.playback.speed == 0.25
    key(d, Qt.Key.Key_BracketRight, times=9)
    assert d.playback.speed == 2.0


def test_playback_advances_with_the_clock_and_pauses(desk, qtbot):
    d = desk()
    key(d, Qt.Key.Key_BracketLeft, times=2)  # 0.5x
    shown = []
    d.view.painted.connect(shown.append)
    key(d, Qt.Key.Key_Space)
    assert d.playing
    qtbot.wait(700)
    key(d, Qt.Key.Key_Space)
    assert not d.playing
    stopped = d.current
    qtbot.wait(150)
    assert d.current == stopped
    assert 4 <= stopped <= 20  # 0.7 s at 0.5x is about 10 frames (a loaded machine may pause late)
    assert shown == sorted(shown)


def test_au_mode_ranges_intensity_toggle_clear_and_drag(desk, ws: Workspace, qtbot, shots: Path):
    d = desk(task="au")
    key(d, Qt.Key.Key_Down, times=6)  # AU1 -> AU12
    assert d.au.au == "AU12"
    key(d, Qt.Key.Key_Right, times=20)
    key(d, Qt.Key.Key_I)
    key(d, Qt.Key.Key_Right, times=40)
    key(d, Qt.Key.Key_O)
    assert d.target_range() == (20, 60)
    key(d, Qt.Key.Key_4)  # present, intensity 4 on 20-60
    key(d, Qt.Key.Key_Escape)
    key(d, Qt.Key.Key_Left, times=10)  # frame 50
    key(d, Qt.Key.Key_T)  # toggle one frame off
    key(d, Qt.Key.Key_Up)  # AU10
    key(d, Qt.Key.Key_P)  # present on frame 50 only, no intensity
    key(d, Qt.Key.Key_Down)
    # drag on the timeline from frame ~100 to ~140, then clear that part of AU12 (nothing there) and mark it
    tl = d.timeline
    y = tl.RULER_H + 3
    x0, x1 = int(tl._x(100.5)), int(tl._x(140.5))
    QTest.mousePress(tl, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x0, y))
    QTest.mouseMove(tl, QPoint(x1, y))
    QTest.mouseRelease(tl, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x1, y))
    a, b = d.target_range()
    assert abs(a - 100) <= 1 and abs(b - 140) <= 1
    key(d, Qt.Key.Key_2)
    key(d, Qt.Key.Key_Escape)
    d.seek(55)
    key(d, Qt.Key.Key_Delete)  # clear frame 55
    qtbot.wait(50)
    d.grab().save(str(shots / "desk-au.png"))
    key(d, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    au = read_annotation(ws.annotation_path("alice", "au", VIDEO)).data.set_index("frame")
    expected = np.zeros(591, int)
    expected[20:61] = 1
    expected[[50, 55]] = 0
    expected[a:b + 1] = 1
    np.testing.assert_array_equal(au["AU12"].to_numpy(int), expected)
    assert au.loc[20:49, "AU12_intensity"].eq(4).all() and au.loc[a:b, "AU12_intensity"].eq(2).all()
    assert pd.isna(au.loc[50, "AU12_intensity"])
    assert au["AU10"].sum() == 1 and au.loc[50, "AU10"] == 1
    assert "AU1" not in au.columns
    # the rows drawn are the labels
    names = [r.name for r in d.timeline.rows]
    assert names[:3] == ["AU1", "AU2", "AU4"] and [r.selected for r in d.timeline.rows].index(True) == 6


def test_expression_keys_label_frame_or_range_one_label_per_frame(desk, ws: Workspace, shots: Path):
    d = desk(task="expr")
    key(d, Qt.Key.Key_5)  # frame 0: Happiness
    key(d, Qt.Key.Key_Right)
    key(d, Qt.Key.Key_I)
    key(d, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    key(d, Qt.Key.Key_O)
    key(d, Qt.Key.Key_7)  # 1-31 Surprise
    key(d, Qt.Key.Key_Escape)
    d.seek(10)
    key(d, Qt.Key.Key_8)  # frame 10 becomes Other: one label per frame
    key(d, Qt.Key.Key_9)  # no ninth class: nothing happens
    d.grab().save(str(shots / "desk-expr.png"))
    d.close()
    t = read_annotation(ws.annotation_path("alice", "expr", VIDEO)).data
    assert t["frame"].tolist() == list(range(32))
    assert t["expr"].tolist() == [4] + [6] * 9 + [7] + [6] * 21
    assert d.expressions[4] == "Happiness" and d.expressions[7] == "Other"


def _circle(d: Desk, t: float) -> QPoint:
    return d.pad.to_point(0.8 * math.cos(t), 0.8 * math.sin(t)).toPoint()


def test_va_pad_records_while_playing_each_sample_on_the_frame_shown(desk, ws: Workspace, qtbot, shots: Path, no_countdown):
    d = desk(task="va")
    QTest.mouseMove(d.pad, _circle(d, 0))  # where the pass starts: its first sample is taken there at once
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        QTest.mouseMove(d.pad, _circle(d, time.monotonic() - t0))
        qtbot.wait(10)
    key(d, Qt.Key.Key_Space)
    d.grab().save(str(shots / "desk-va.png"))
    samples = d.va_samples
    frames = [f for _, f in samples]
    assert frames[0] == 0  # the frame the pass started on, however late the first tick came
    played = range(frames[0], frames[-1] + 1)
    assert set(frames) == set(played)  # no frame of the pass without a sample
    assert len(samples) / (samples[-1][0] - samples[0][0]) >= 30
    # each journalled sample is the pad's position at that moment, on the frame then on screen
    lines = [json.loads(x) for x in journal_path(ws, "alice", VIDEO).read_text().splitlines()[1:]]
    assert [op["s"] for op in lines] == frames
    radius = np.hypot([op["v"] for op in lines], [op["a"] for op in lines])
    assert np.allclose(radius, 0.8, atol=0.02)
    # the pass undoes as one edit
    key(d, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.isnan(d.session.labels.va).all()
    key(d, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    key(d, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    va = read_annotation(ws.annotation_path("alice", "va", VIDEO)).data
    assert va["frame"].tolist() == list(played)
    # valence only: arousal stays as it was
    d.seek(frames[-1] + 5)
    key(d, Qt.Key.Key_V)
    assert d.pad.mode == "valence"
    QTest.mouseMove(d.pad, d.pad.to_point(-0.5, 0.9).toPoint())
    assert d.pad.arousal == 0 and d.pad.valence == pytest.approx(-0.5, abs=0.02)
    key(d, Qt.Key.Key_Space)
    qtbot.wait(300)
    key(d, Qt.Key.Key_Space)
    after = d.session.labels.va[frames[-1] + 5:d.current + 1]
    assert np.allclose(after[:, 0], -0.5, atol=0.02) and np.isnan(after[:, 1]).all()


def test_review_overlays_and_accepting_machine_labels(desk, ws: Workspace, samples: Path, tmp_path: Path):
    # real OpenFace output, imported as the machine annotator of the short video
    csv = tmp_path / f"{SHORT}.csv"
    shutil.copy(samples / "OpenFace_Test.csv", csv)
    import_files(ws, "openface", [csv], clock="grid")
    other = Session(ws, SHORT, "carol")
    other.edit({"k": "au", "au": "AU12", "s": 0, "e": 30, "p": 1})
    other.save()
    d = desk(video=SHORT, task="au")
    key(d, Qt.Key.Key_Down, times=6)
    rows = {r.name: r for r in d.timeline.rows}
    assert rows["openface (machine) · AU12"].read_only and not rows["carol · AU12"].read_only
    machine = [o for o in d.session.overlays if o.machine][0].values["AU12"]
    key(d, Qt.Key.Key_A)  # no range marked: the whole video
    mine = d.session.labels.au_p[:, d.au.selected]
    ok = ~np.isnan(machine)
    assert ok.sum() > 60 and np.array_equal(mine[ok], machine[ok].astype(int))
    key(d, Qt.Key.Key_M)
    assert [r.name for r in d.timeline.rows] == list(d.aus)
    key(d, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (d.session.labels.au_p == -1).all()


def test_undo_redo_every_kind_of_edit(desk, ws: Workspace):
    d = desk(task="au")
    key(d, Qt.Key.Key_P)
    key(d, Qt.Key.Key_F3)
    key(d, Qt.Key.Key_3)
    key(d, Qt.Key.Key_F4)
    key(d, Qt.Key.Key_Delete)
    lab = d.session.labels
    snapshots = []
    for _ in range(3):
        snapshots.append((lab.au_p.copy(), lab.expr.copy()))
        key(d, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (lab.au_p == -1).all() and (lab.expr == -1).all()
    key(d, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    key(d, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert lab.au_p[0, 0] == 1 and lab.expr[0] == 2


def test_every_action_has_a_key_listed_in_the_help(desk, shots: Path):
    d = desk()
    assert len(d.specs) >= 30
    text = d.help.text()
    for spec in d.specs:
        act = d.qactions[spec.name]
        assert act.shortcuts(), spec.name
        for k in spec.keys:
            assert QKeySequence(k).toString() in [s.toString() for s in act.shortcuts()]
            assert k in text, k
    key(d, Qt.Key.Key_F1)
    assert d.help.isVisible()
    d.grab().save(str(shots / "desk-help.png"))
    key(d, Qt.Key.Key_F1)
    assert not d.help.isVisible()


def test_switching_video_saves_and_screenshots_show_the_video(desk, ws: Workspace, shots: Path):
    d = desk(task="expr")
    key(d, Qt.Key.Key_2)
    step = Qt.Key.Key_PageDown if d.videos.index(SHORT) > d.videos.index(VIDEO) else Qt.Key.Key_PageUp
    key(d, step)
    assert d.video_id == SHORT
    assert ws.annotation_path("alice", "expr", VIDEO).exists()
    img = d.view.grab().toImage()
    px = np.array([[img.pixelColor(x, y).value() for x in range(0, img.width(), 20)]
                   for y in range(0, img.height(), 20)])
    assert px.std() > 20  # a picture, not a blank widget


def test_a_killed_desk_loses_at_most_the_last_second(ws: Workspace, qtbot, no_countdown):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, str(HERE / "desk_child.py"), str(ws.root), VIDEO],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while not line.startswith("EDITED") and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert line.startswith("EDITED"), "the desk did not start"
        time.sleep(1.5)  # it records VA meanwhile
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(10)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not ws.annotation_path("dave", "au", VIDEO).exists()  # nothing had been saved
    s = Session(ws, VIDEO, "dave")
    assert s.recovered > 30
    assert (s.labels.au_p[10:21, s.labels.au_index("AU6")] == 1).all()
    assert (s.labels.expr[0:31] == 4).all()
    # the journal's last sample was written less than a second before the kill
    last = journal_path(ws, "dave", VIDEO).stat().st_mtime
    assert killed_at - last < 1.0
    s.close()
    # opening the desk on it replays and saves
    d = Desk(ws, "dave", video=VIDEO)
    qtbot.addWidget(d)
    assert "recovered" in d.statusBar().currentMessage()
    d.close()
    assert ws.annotation_path("dave", "va", VIDEO).exists()
    assert merge(ws, drop_no_face=False).labels["AU6"].sum() == 11


def test_cli_errors_are_one_line(ws: Workspace, capsys):
    for args, msg in ((["--task", "pose"], "--task 'pose': expected one of au, expr, va"),
                      (["--annotator", "a/b"], "invalid annotator name 'a/b'"),
                      (["--video", "nope"], "nope: no such ingested video")):
        with pytest.raises(SystemExit) as e:
            cli_main(["annotate", str(ws.root), "--annotator", "x", *args])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert msg in " ".join(err.split()) and err.count("\n") <= 2


def test_hours_of_painting_do_not_wear_out_the_interpreter(desk):
    """Some Qt bindings release a reference they do not hold on each paint call; on Python 3.11 that ends in a
    crash after a few minutes of stepping. The desk's paints must leave the interpreter as they found it."""
    d = desk(task="au")
    d.seek(100)
    before = sys.getrefcount(None)
    for _ in range(200):
        d.timeline.grab()
        d.view.grab()
        d.pad.grab()
    assert sys.getrefcount(None) - before > -50


def test_a_joystick_drives_the_pad_when_there_is_one(qtbot, ws: Workspace, tmp_path: Path, no_countdown):
    from annotator_gui.joystick import JS_EVENT_AXIS, JS_EVENT_INIT, encode_event

    dev = tmp_path / "js0"
    os.mkfifo(dev)
    d = Desk(ws, "erin", video=VIDEO, task="va", joystick=str(dev))
    qtbot.addWidget(d)
    d.show()
    d.activateWindow()
    assert QTest.qWaitForWindowActive(d)
    stick = os.open(dev, os.O_WRONLY)
    try:
        # the kernel first reports the initial state, then each movement
        os.write(stick, encode_event(0, JS_EVENT_AXIS | JS_EVENT_INIT, 0) + encode_event(0, JS_EVENT_AXIS | JS_EVENT_INIT, 1))
        os.write(stick, encode_event(16384, JS_EVENT_AXIS, 0) + encode_event(-16384, JS_EVENT_AXIS, 1))
        qtbot.waitUntil(lambda: d.pad.valence > 0.4)
        assert d.pad.valence == pytest.approx(0.5, abs=0.01) and d.pad.arousal == pytest.approx(0.5, abs=0.01)
        key(d, Qt.Key.Key_R)
        key(d, Qt.Key.Key_Space)
        qtbot.wait(300)
        os.write(stick, encode_event(-32767, JS_EVENT_AXIS, 0) + encode_event(0, JS_EVENT_AXIS, 1))
        qtbot.wait(300)
        key(d, Qt.Key.Key_Space)
    finally:
        os.close(stick)
    va = d.session.labels.va
    rated = va[~np.isnan(va[:, 0])]
    assert np.allclose(rated[0], [0.5, 0.5], atol=0.01) and np.allclose(rated[-1], [-1.0, 0.0], atol=0.01)
    d.close()


def test_without_a_joystick_the_mouse_is_enough(desk):
    d = desk(task="va")
    if not any(Path("/dev/input").glob("js*")):
        assert d.va.joystick is None
    QTest.mouseMove(d.pad, d.pad.to_point(-0.3, 0.4).toPoint())
    assert (d.pad.valence, d.pad.arousal) == pytest.approx((-0.3, 0.4), abs=0.02)


def test_no_display_is_a_clear_error(ws: Workspace, capsys, monkeypatch):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as e:
        cli_main(["annotate", str(ws.root), "--annotator", "x"])
    assert e.value.code == 2
    assert "no display to open the desk on" in capsys.readouterr().err


def test_the_command_opens_the_desk(ws: Workspace):
    """`affcurate annotate` itself, as a user starts it: the desk comes up on the video and holds it."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "affcurate", "annotate", str(ws.root), "--annotator", "frank",
                             "--video", SHORT, "--task", "expr"], env=env, stderr=subprocess.PIPE, text=True)
    lock = journal_path(ws, "frank", SHORT).with_suffix(".lock")
    try:
        deadline = time.monotonic() + 120
        while not lock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), proc.stderr.read() if proc.poll() is not None else "the desk did not open"
        assert lock.read_text() == str(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_the_overview_strip_shows_the_whole_video_and_jumps(desk, qtbot, shots: Path):
    d = desk(task="expr")
    key(d, Qt.Key.Key_I)
    key(d, Qt.Key.Key_End)
    key(d, Qt.Key.Key_O)
    key(d, Qt.Key.Key_1)  # the whole video is Neutral
    tl = d.timeline
    assert tl.coverage().all()
    x = int(tl._overview_x(0.75 * d.n_frames))
    QTest.mouseClick(tl, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, tl.OVERVIEW_H // 2))
    assert abs(d.current - 0.75 * d.n_frames) <= 2
    assert tl.start <= d.current < tl.start + tl.span  # the detailed rows follow
    tl.grab().save(str(shots / "timeline.png"))


def test_a_video_held_by_another_desk_is_not_opened_and_nothing_is_lost(desk, ws: Workspace, other_desk):
    with other_desk(SHORT, "alice"):
        d = desk(task="expr")
        key(d, Qt.Key.Key_3)
        d.open_video(SHORT)
        assert d.video_id == VIDEO and "cannot open single_face" in d.statusBar().currentMessage()
        assert "already open in another desk" in d.statusBar().currentMessage()
        key(d, Qt.Key.Key_Right)
        key(d, Qt.Key.Key_3)  # the desk goes on working on its video
        d.close()
    assert read_annotation(ws.annotation_path("alice", "expr", VIDEO)).data["frame"].tolist() == [0, 1]
