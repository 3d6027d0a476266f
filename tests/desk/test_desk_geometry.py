"""What the annotator sees where: the timeline's frames, zoom and ticks, the help over the window, the VA pad.

Geometry is read from the widgets' own state (frame count, visible range, tick positions, widget sizes), not
from pixels."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SHORT = "single_face"


def key(d: Desk, k, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k)


def switch_to(d: Desk, vid: str) -> None:
    """The video list's neighbour keys, as an annotator moves from one video to the next."""
    step = Qt.Key.Key_PageDown if d.videos.index(vid) > d.videos.index(d.video_id) else Qt.Key.Key_PageUp
    key(d, step, abs(d.videos.index(vid) - d.videos.index(d.video_id)))
    assert d.video_id == vid


def visible(d: Desk) -> range:
    """The frames the timeline shows, from its left end to its right end."""
    tl = d.timeline
    return range(tl.frame_at(tl.HEADER), tl.frame_at(tl.HEADER + tl._px - 1e-6) + 1)


def test_the_timeline_shows_every_frame_of_the_video_switched_to(desk, cut_ws: Workspace):
    d = desk(video="clip122", workspace=cut_ws)
    assert d.timeline.n_frames == 122 and visible(d) == range(122)
    switch_to(d, "clip192")
    assert d.n_frames == 192
    assert d.timeline.n_frames == 192 and visible(d) == range(192)
    switch_to(d, "clip122")
    assert visible(d) == range(122)


def test_zooming_in_then_out_shows_the_whole_video_again_from_0_00(desk, cut_ws: Workspace):
    for video, at, workspace in ((VIDEO, 300, None), ("clip192", 150, cut_ws), ("clip122", 60, cut_ws)):
        d = desk(video=video, workspace=workspace)
        whole = visible(d)
        d.seek(at)
        key(d, Qt.Key.Key_Plus, 3)
        assert len(visible(d)) < len(whole) / 2 and at in visible(d)
        key(d, Qt.Key.Key_Minus, 3)
        assert visible(d) == whole, video
        ticks = d.timeline.ticks()
        assert (ticks[0].frame, ticks[0].label) == (0, "0:00")
        d.close()
    d = desk()  # with the wheel's steps
    d.seek(300)
    for factor in (0.8, 0.8, 0.8, 1.25, 1.25, 1.25):
        d.timeline.zoom(factor)
    assert visible(d) == range(591)


def test_every_tick_label_lies_inside_the_timeline(desk, cut_ws: Workspace):
    d = desk(video="clip122", workspace=cut_ws)
    tl = d.timeline
    moved = 0
    for width in range(1100, 1800, 20):
        d.resize(width, d.height())
        QApplication.processEvents()
        ticks = tl.ticks()
        assert ticks
        for t in ticks:
            assert tl.HEADER <= t.rect.left() and t.rect.right() < tl.width(), (width, t)
        moved += ticks[-1].rect.right() < ticks[-1].x  # a label past the right edge sits left of its tick
    assert moved, "no width put a tick near the right edge"


def test_the_help_lies_over_the_window_and_leaves_its_layout_alone(desk, qtbot):
    d = desk()
    QApplication.processEvents()
    split = d.centralWidget()
    window, view, panes = d.size(), d.view.size(), split.sizes()
    key(d, Qt.Key.Key_F1)
    QApplication.processEvents()
    assert d.help.isVisible()
    assert split.count() == 3 and split.sizes() == panes  # not a pane of the splitter
    assert d.help.geometry() == split.geometry()  # over the video list, the video and the panel
    assert d.view.size() == view and d.size() == window
    key(d, Qt.Key.Key_F1)
    QApplication.processEvents()
    assert not d.help.isVisible()
    assert d.size() == window and d.view.size() == view and split.sizes() == panes
    key(d, Qt.Key.Key_F1)  # open, it follows the window
    d.resize(window.width() + 100, window.height() + 50)
    QApplication.processEvents()
    assert d.help.geometry() == split.geometry() and split.width() > view.width() + 100


def _pointer_at(d: Desk, v: float, a: float) -> None:
    """The pointer rests over the pad at (v, a) without moving there (e.g. the pad appeared under it)."""
    QCursor.setPos(d.pad.mapToGlobal(d.pad.to_point(v, a).toPoint()))
    QApplication.processEvents()  # the move goes to what is under the pointer now


def test_a_pass_starts_from_where_the_pointer_is(desk, qtbot, no_countdown):
    d = desk(task="va")
    key(d, Qt.Key.Key_F2)
    assert not d.pad.isVisible()
    _pointer_at(d, 0.5, -0.4)  # moves over the AU panel, which is where the pad will be
    key(d, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: (d.pad.valence, d.pad.arousal) == pytest.approx((0.5, -0.4), abs=0.02))
    # the pad hidden again, the pointer goes elsewhere on it; then a pass starts without a move
    key(d, Qt.Key.Key_F2)
    _pointer_at(d, -0.3, 0.6)
    key(d, Qt.Key.Key_F4)
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: d.current >= 3)
    key(d, Qt.Key.Key_Space)
    va = d.session.labels.va
    rated = np.flatnonzero(~np.isnan(va[:, 0]))
    assert rated[0] == 0 and np.allclose(va[rated], [-0.3, 0.6], atol=0.02)


def test_the_first_frame_of_a_pass_is_rated_when_the_first_tick_comes_late(desk, qtbot, no_countdown):
    d = desk(task="va")
    d.seek(40)
    QTest.mouseMove(d.pad, d.pad.to_point(0.7, 0.2).toPoint())
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    time.sleep(0.25)  # the desk is busy: the first tick comes more than a frame late
    qtbot.waitUntil(lambda: d.current >= 44)
    key(d, Qt.Key.Key_Space)
    frames = [f for _, f in d.va_samples]
    assert frames[0] == 40 and set(frames) == set(range(40, frames[-1] + 1))
    va = d.session.labels.va
    assert np.allclose(va[40:frames[-1] + 1], [0.7, 0.2], atol=0.02)


def test_switching_video_leaves_the_previous_video_s_trail_behind(desk, qtbot, no_countdown):
    d = desk(task="va")
    QTest.mouseMove(d.pad, d.pad.to_point(0.4, 0.4).toPoint())
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(d.pad.trail) >= 5)
    key(d, Qt.Key.Key_Space)
    switch_to(d, SHORT)
    assert d.pad.trail == []


def test_the_face_box_is_the_subject_s_box_of_the_faces_table(desk, ws: Workspace, qtbot):
    d = desk(video=SHORT)
    faces = FaceTracks.read(ws, SHORT)
    shown = [f for f in range(0, d.n_frames, 7) if faces.box_at(f) is not None]
    assert len(shown) > 5
    for f in shown:
        d.seek(f)
        assert d.view.box == pytest.approx(tuple(faces.box_at(f)))


def test_a_damaged_faces_table_opens_the_video_without_a_box(desk, ws: Workspace):
    ws.faces_path(SHORT).write_bytes(b"not a parquet file")
    d = desk()
    switch_to(d, SHORT)
    assert d.timeline.n_frames == 72 and d.view.box is None
    msg = d.statusBar().currentMessage()
    assert "no face box" in msg and "not a readable faces table" in msg
    d.close()
    d = desk(video=SHORT)  # also as the first video
    assert d.video_id == SHORT and d.view.box is None
