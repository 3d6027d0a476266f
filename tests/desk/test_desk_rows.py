"""What the timeline's rows show: one-frame labels at any zoom, the intensity legend, frames without the
subject's face shaded. Read from what the timeline drew (its ``drawn``), not from pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace
from annotator_gui.rows import intensity_colour
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SHORT = "single_face"
SCREENSHOTS = Path(__file__).parents[2] / "annotator_gui" / "screenshots"


def key(d: Desk, k, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k)


def drawn(d: Desk):
    d.timeline.grab()
    return d.timeline.drawn


def test_a_one_frame_label_is_drawn_at_least_2_px_wide_at_any_zoom(desk):
    d = desk(task="au")
    d.seek(301)
    key(d, Qt.Key.Key_P)  # AU1 on frame 301 alone
    key(d, Qt.Key.Key_F3)
    d.seek(433)
    key(d, Qt.Key.Key_2)  # Anger on frame 433 alone
    for width in (1700, 1400, 1000, 800):  # the narrower, the more frames share a pixel
        d.resize(width, d.height())
        QApplication.processEvents()
        key(d, Qt.Key.Key_Minus, 3)  # all of the video in view
        for mode, row, frame in ((Qt.Key.Key_F2, "AU1", 301), (Qt.Key.Key_F3, "alice · EXPR", 433)):
            key(d, mode)
            d.seek(0)
            tl = d.timeline
            assert tl.span == d.n_frames
            bars = [b for b in drawn(d).bars if b.row == row and b.value > 0]
            assert len(bars) == 1, (width, row, bars)
            assert bars[0].start <= frame < bars[0].end and bars[0].width >= 2, (width, tl._px, bars[0])
    assert d.timeline._px < d.n_frames  # the narrowest had fewer pixels than frames


def test_intensity_shades_have_a_legend_and_the_number_where_it_fits(desk):
    d = desk(task="au")
    key(d, Qt.Key.Key_Down, 6)  # AU12
    d.seek(20)
    key(d, Qt.Key.Key_I)
    d.seek(80)
    key(d, Qt.Key.Key_O)
    key(d, Qt.Key.Key_4)
    key(d, Qt.Key.Key_Escape)
    d.seek(200)
    key(d, Qt.Key.Key_2)  # one frame: no room for its number
    bars = {b.start: b for b in drawn(d).bars if b.row == "AU12" and b.value == 1}
    assert bars[20].text == "4" and bars[20].end == 81
    assert bars[200].text == "" and bars[200].width >= 2
    key(d, Qt.Key.Key_Plus, 4)  # zoomed in, the one frame is wide enough for its number
    assert {b.start: b.text for b in drawn(d).bars if b.row == "AU12"}[200] == "2"
    legend = d.au.legend.text()
    for k in range(1, 6):
        assert f"background:{intensity_colour(k).name()}'>&nbsp;&nbsp;&nbsp;</span>&nbsp;{k}" in legend
    assert intensity_colour(None).name() in legend and "present, no intensity" in legend and "absent" in legend
    assert d.au.legend.isVisible()


def test_frames_without_the_subject_s_face_are_shaded(desk, ws: Workspace, shots: Path):
    faces = FaceTracks.read(ws, VIDEO)
    gone = (faces.frame >= 100) & (faces.frame < 130) | (faces.frame == 300)
    faces.select(~gone).write(ws)
    d = desk(task="expr")
    expected = np.zeros(d.n_frames, bool)
    expected[100:130] = expected[300] = True
    assert np.array_equal(d.timeline.no_face, expected)
    assert np.array_equal(d.timeline.no_face, ~FaceTracks.read(ws, VIDEO).mask(d.n_frames))
    key(d, Qt.Key.Key_I)
    key(d, Qt.Key.Key_End)
    key(d, Qt.Key.Key_O)
    key(d, Qt.Key.Key_1)  # Neutral throughout: the shading shows over labels too
    key(d, Qt.Key.Key_Escape)
    d.seek(115)
    shaded = drawn(d).no_face
    assert [(a, b) for a, b in shaded if a < 200] == [(100, 130)]
    assert any(a <= 300 < b for a, b in shaded)  # one frame too
    d.timeline.grab().save(str(shots / "desk-no-face.png"))
    if os.environ.get("AFFCURATE_SCREENSHOTS"):  # retaking the README's screenshot
        d.timeline.grab().save(str(SCREENSHOTS / "desk-no-face.jpg"), "JPG", 90)
    # another video with its face throughout: nothing shaded; without faces: not known, nothing shaded
    key(d, Qt.Key.Key_PageDown if d.videos.index(SHORT) > d.videos.index(VIDEO) else Qt.Key.Key_PageUp)
    assert d.video_id == SHORT and not d.timeline.no_face.any() and drawn(d).no_face == []
    d.close()
    ws.faces_path(SHORT).unlink()
    d = desk(video=SHORT)
    assert d.timeline.no_face is None and drawn(d).no_face == []
