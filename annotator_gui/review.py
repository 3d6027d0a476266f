"""A review queue in the desk: going from item to item, and the queue's progress in the status bar.

Which items there are, and what was reviewed, is the Qt-free ``queue``; this only puts an item on screen (its
video, mode, label and marked range) and records it as reviewed when the annotator moves on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel

from annotator_gui.queue import Queue, range_state

if TYPE_CHECKING:
    from annotator_gui.window import Desk


class Review:
    """The desk's queue: the item on screen, and the status-bar label that says where in the queue it is."""

    def __init__(self, desk: Desk, queue: Queue):
        self.desk = desk
        self.queue = queue
        self.index = queue.resume()
        self._before: bytes | None = None
        self.label = QLabel()
        self.label.setObjectName("queue_progress")
        desk.statusBar().addPermanentWidget(self.label)
        if queue.left_out:
            desk.statusBar().showMessage(f"{queue.left_out} items of videos that are no longer ingested left out")

    @property
    def item(self):
        return self.queue.items[self.index]

    def go(self, i: int) -> None:
        """Put item ``i`` on screen: its video, its mode, its AU chosen, its frames marked and in view."""
        desk, it = self.desk, self.queue.items[i]
        self.index = i
        desk.open_video(it.video_id)
        if desk.video_id != it.video_id:  # it could not be opened; the desk said why
            self._before = None
            self.show()
            return
        desk.set_mode(it.task)
        if it.task == "au":
            if it.label in desk.aus:
                desk.select_au(desk.aus.index(it.label))
            else:
                desk.statusBar().showMessage(f"{it.label} is not one of the workspace's AUs (labels.aus)")
        a = min(max(it.start, 0), desk.n_frames - 1)
        b = min(max(it.end, a), desk.n_frames - 1)
        desk.marks.mark_in, desk.marks.mark_out = a, b
        desk.seek(a)
        tl = desk.timeline
        if not (tl.start <= a and b < tl.start + tl.span):  # the whole item in view, a little after the left edge
            tl.start = max(0, min(a - tl.span // 4, tl.n_frames - tl.span))
        desk._show_mark()
        self._before = range_state(desk.session.labels, it)
        self.show()

    def next(self) -> None:
        """Record the item on screen as reviewed (its edits saved) and go to the next one."""
        desk = self.desk
        if desk.video_id == self.item.video_id:
            changed = self._before is not None and range_state(desk.session.labels, self.item) != self._before
            desk.save()
            self.queue.review(self.index, changed)
        if self.index + 1 < len(self.queue):
            self.go(self.index + 1)
        else:
            self.show()
            desk.statusBar().showMessage(f"the end of the {self.queue.kind} queue: "
                                         f"{self.queue.n_reviewed} of {len(self.queue)} items reviewed")

    def previous(self) -> None:
        if self.index > 0:
            self.go(self.index - 1)

    def text(self) -> str:
        return self.label.text()

    def show(self) -> None:
        self.label.setText(f"{self.queue.progress(self.index)} — {self.queue.describe(self.index)}")
