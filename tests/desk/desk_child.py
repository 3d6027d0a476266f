"""A desk in its own process for the crash test: makes known edits, then records VA until it is killed."""

from __future__ import annotations

import math
import sys
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from affcurate.workspace import Workspace
from annotator_gui.window import Desk


def main() -> None:
    app = QApplication(sys.argv[:1])
    desk = Desk(Workspace.open(sys.argv[1]), "dave", video=sys.argv[2], task="au")
    desk.show()
    desk.activateWindow()
    QTest.qWaitForWindowActive(desk)

    def keys(*seq) -> None:
        for k in seq:
            QTest.keyClick(desk, k)

    keys(*[Qt.Key.Key_Down] * 3)  # AU6
    keys(*[Qt.Key.Key_Right] * 10, Qt.Key.Key_I, *[Qt.Key.Key_Right] * 10, Qt.Key.Key_O, Qt.Key.Key_P)
    keys(Qt.Key.Key_F3, Qt.Key.Key_Escape, Qt.Key.Key_Home, Qt.Key.Key_I, *[Qt.Key.Key_Right] * 30,
         Qt.Key.Key_O, Qt.Key.Key_5, Qt.Key.Key_Escape)
    keys(Qt.Key.Key_F4, Qt.Key.Key_R, Qt.Key.Key_Space)
    start = time.monotonic()

    def move() -> None:
        t = time.monotonic() - start
        QTest.mouseMove(desk.pad, desk.pad.to_point(0.6 * math.cos(t), 0.6 * math.sin(t)).toPoint())

    timer = QTimer()
    timer.timeout.connect(move)
    timer.start(20)
    print("EDITED", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
