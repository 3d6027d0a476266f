"""Start the desk: a QApplication and one window."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from affcurate.workspace import Workspace

if TYPE_CHECKING:
    from annotator_gui.queue import Queue


def run(workspace: Path, annotator: str, video: str | None = None, task: str = "au",
        joystick: str | None = "auto", queue: Queue | None = None) -> int:
    """Open the desk and run it until it is closed; with ``queue``, on that queue's first item not reviewed."""
    from PySide6.QtCore import QCoreApplication

    from annotator_gui.display import check_qt_libraries

    if QCoreApplication.instance() is None:
        check_qt_libraries()  # before Qt loads its platform plugin, which stops the process when it cannot
    from PySide6.QtWidgets import QApplication

    from annotator_gui.window import Desk

    ws = Workspace.open(workspace)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("affcurate desk")
    desk = Desk(ws, annotator, video=video, task=task, joystick=joystick, queue=queue)
    desk.show()
    return app.exec()
