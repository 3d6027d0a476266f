"""The list of the workspace's videos beside the desk, each with the annotator's progress per task."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem

VIDEO_ID = Qt.ItemDataRole.UserRole


def progress_text(vid: str, p: dict[str, float]) -> str:
    text = (f"{vid}\n  AU {p.get('au', 0):.0%} · EXPR {p.get('expr', 0):.0%} · VA {p.get('va', 0):.0%}")
    return text + ("  (unsaved)" if p.get("unsaved") else "")


class VideoList(QListWidget):
    """A click on a video opens it (through ``on_open``)."""

    def __init__(self, on_open: Callable[[str], None]):
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumWidth(220)
        self.itemClicked.connect(lambda item: on_open(item.data(VIDEO_ID)))

    def fill(self, videos: list[str], progress: dict[str, dict[str, float]]) -> None:
        self.clear()
        for vid in videos:
            item = QListWidgetItem(progress_text(vid, progress.get(vid, {})))
            item.setData(VIDEO_ID, vid)
            self.addItem(item)

    def show_current(self, vid: str | None, progress: dict[str, float] | None) -> None:
        """Select ``vid`` and, when given, show its progress."""
        for i in range(self.count()):
            item = self.item(i)
            if item.data(VIDEO_ID) == vid:
                self.setCurrentItem(item)
                if progress is not None:
                    item.setText(progress_text(vid, progress))

    def show_progress(self, vid: str, progress: dict[str, float]) -> None:
        """The progress of ``vid`` after an edit, if it is the selected video."""
        item = self.currentItem()
        if item is not None and item.data(VIDEO_ID) == vid:
            item.setText(progress_text(vid, progress))
