"""A review queue in the desk, driven with real keys on real widgets (offscreen): each item on screen, the
progress, the record of what was reviewed, and resuming."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from affcurate.workspace import Workspace
from annotator_gui.queue import open_queue, read_record
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SHORT = "single_face"
SCREENSHOTS = Path(__file__).parents[2] / "annotator_gui" / "screenshots"


def key(d: Desk, k, mod=Qt.KeyboardModifier.NoModifier, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k, mod)


def on_screen(d: Desk) -> tuple:
    """What the annotator sees of the item: video, mode (and its panel), the AU row chosen, the marked range."""
    assert d.panels.currentWidget() is d.task.panel
    selected = [r.name for r in d.timeline.rows if r.selected]
    au = d.au.au_list.currentItem().text().split()[0] if d.task is d.au else None
    if au is not None:
        assert selected == [au] and d.au.au == au
    tl = d.timeline
    assert tl.mark is not None and tl.start <= tl.mark[0] and tl.mark[1] < tl.start + tl.span  # all of it in view
    assert d.current == tl.mark[0]
    return d.video_id, d.task.name, au, tl.mark


def open_desk(qtbot, ws: Workspace, kind: str, annotator: str = "carol") -> Desk:
    d = Desk(ws, annotator, queue=open_queue(ws, kind, annotator))
    qtbot.addWidget(d)
    d.show()
    d.activateWindow()
    assert QTest.qWaitForWindowActive(d)
    return d


def test_n_goes_through_the_disagreements_item_by_item_and_records_them(qtbot, disagreeing: Workspace, shots: Path):
    ws = disagreeing
    d = open_desk(qtbot, ws, "disagreements")
    assert on_screen(d) == (VIDEO, "au", "AU12", (0, 29))
    assert d.review.text() == "disagreements queue · item 1 of 6 · 0 reviewed — AU12, frames 0–29, disagreement 0.50"
    assert d.review.label.isVisible()
    key(d, Qt.Key.Key_2)  # the annotator decides: present, intensity 2, over the marked range
    assert (d.session.labels.au_p[0:30, d.aus.index("AU12")] == 1).all()
    assert (d.session.labels.au_p[30:, d.aus.index("AU12")] == -1).all()
    key(d, Qt.Key.Key_N)
    assert on_screen(d) == (VIDEO, "au", "AU12", (90, 119))
    assert "item 2 of 6 · 1 reviewed" in d.review.text()
    assert ws.annotation_path("carol", "au", VIDEO).exists()  # the edits of a reviewed item are saved
    QApplication.processEvents()  # the status bar lays out the new progress text before the picture is taken
    d.grab().save(str(shots / "desk-queue.png"))
    if os.environ.get("AFFCURATE_SCREENSHOTS"):  # retaking the README's screenshot
        d.grab().save(str(SCREENSHOTS / "desk-queue.jpg"), "JPG", 85)
    key(d, Qt.Key.Key_N)
    assert on_screen(d) == (VIDEO, "va", None, (300, 329))
    assert "item 3 of 6 · 2 reviewed" in d.review.text()
    recs = read_record(ws.state_dir / "desk" / "carol" / "queues" / "disagreements.jsonl")
    assert [(r["annotator"], r["video_id"], r["label"], r["start"], r["end"], r["changed"]) for r in recs] == [
        ("carol", VIDEO, "AU12", 0, 29, True), ("carol", VIDEO, "AU12", 90, 119, False)]
    assert all(r["reviewed"] for r in recs)
    key(d, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert on_screen(d) == (VIDEO, "au", "AU12", (90, 119))
    assert d.review.text().startswith("disagreements queue · item 2 of 6 · 2 reviewed · this one reviewed")
    key(d, Qt.Key.Key_N, times=3)  # to the expression items, on the other video
    assert on_screen(d) == (SHORT, "expr", None, (60, 71))
    assert d.video_list.currentItem().text().startswith(SHORT)
    key(d, Qt.Key.Key_N, times=2)  # past the last item
    assert on_screen(d) == (SHORT, "expr", None, (30, 59))
    assert "6 of 6 items reviewed" in d.statusBar().currentMessage()
    assert "item 6 of 6 · 6 reviewed" in d.review.text()
    d.close()


def test_reopening_the_queue_resumes_at_the_first_item_not_reviewed(qtbot, disagreeing: Workspace):
    d = open_desk(qtbot, disagreeing, "disagreements")
    key(d, Qt.Key.Key_N, times=2)
    d.close()
    again = open_desk(qtbot, disagreeing, "disagreements")
    assert on_screen(again) == (VIDEO, "va", None, (300, 329))
    assert "item 3 of 6 · 2 reviewed" in again.review.text()
    again.close()
    other = open_desk(qtbot, disagreeing, "disagreements", annotator="dave")  # dave has reviewed nothing
    assert on_screen(other) == (VIDEO, "au", "AU12", (0, 29))
    other.close()


def test_accept_takes_the_models_labels_over_the_uncertain_item_only(qtbot, predicted: Workspace):
    d = open_desk(qtbot, predicted, "uncertain")
    assert on_screen(d) == (VIDEO, "expr", None, (60, 89))
    assert "item 1 of" in d.review.text() and "run1 confidence 0.20" in d.review.text()
    key(d, Qt.Key.Key_A)
    expr = d.session.labels.expr
    assert (expr[60:90] == 0).all() and (expr[:60] == -1).all() and (expr[90:] == -1).all()
    key(d, Qt.Key.Key_N)
    assert on_screen(d) == (SHORT, "au", "AU12", (30, 59))  # the AU the model flickers on
    key(d, Qt.Key.Key_A)
    au12 = d.session.labels.au_p[:, d.aus.index("AU12")]
    assert np.array_equal(au12[30:60], np.tile([1, 0], 15)) and (au12[:30] == -1).all()
    key(d, Qt.Key.Key_N)
    recs = read_record(predicted.state_dir / "desk" / "carol" / "queues" / "uncertain.jsonl")
    assert [(r["video_id"], r["start"], r["source"], r["changed"]) for r in recs] == [
        (VIDEO, 60, "run1", True), (SHORT, 30, "run1", True)]
    d.close()


def test_the_queue_keys_are_in_the_help_and_say_so_without_a_queue(desk):
    d = desk()
    text = d.help.text()
    assert "Queue" in text and "Queue: this item reviewed, next item" in text and "Shift+N" in text
    key(d, Qt.Key.Key_N)
    assert "no queue open" in d.statusBar().currentMessage()
    assert d.current == 0 and d.timeline.mark is None

