"""Seeing the tracks in the desk: another person's face is drawn, and clicking it makes them the subject (the same
as `affcurate faces pick`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from affcurate.faces import status
from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
from affcurate.workspace import Workspace


@pytest.fixture
def duo_ws(duo: Path, tmp_path: Path) -> Workspace:  # the shared two-person video (tests/conftest.py)
    ws = Workspace.init(tmp_path / "duo-ws")
    assert ingest(ws, duo.parent).n_failed == 0
    return ws


def test_clicking_another_face_makes_it_the_subject(desk, duo_ws: Workspace) -> None:
    before = FaceTracks.read(duo_ws, "duo")
    d = desk(video="duo", workspace=duo_ws)
    d.show_frame(10)
    (other, box), *_ = d.view.others  # the second person, dashed, not the subject
    assert other != before.target_track and d.view.box is not None
    centre = d.view.to_widget(box).center()
    QTest.mouseClick(d.view, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    after = FaceTracks.read(duo_ws, "duo")
    assert after.target_track == other and status.read_status(duo_ws).set_index("video_id").loc[
        "duo", "picked_track"] == other
    assert d.view.box == pytest.approx(tuple(box), abs=1.0)  # the box shown is now theirs
    assert [t for t, _ in d.view.others] == [before.target_track]
    assert f"track {other} is now the subject of duo" in d.statusBar().currentMessage()
