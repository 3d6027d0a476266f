"""The valence-arousal pad: a disc whose pointer position is the rating."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

# The circumplex words around the disc: (angle in degrees from +valence, counter-clockwise; word).
ANCHORS = [(0, "pleased"), (30, "happy"), (60, "excited"), (90, "alert"), (120, "tense"), (150, "angry"),
           (180, "sad"), (210, "depressed"), (240, "bored"), (270, "tired"), (300, "calm"), (330, "relaxed")]


class VAPad(QWidget):
    """The valence-arousal disc: the pointer's position is the rating (valence right, arousal up).

    ``mode`` is ``2d``, ``valence`` (a horizontal line: only valence is rated) or ``arousal`` (vertical)."""

    moved = Signal(float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(260, 260)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mode = "2d"
        self.valence = 0.0
        self.arousal = 0.0
        self.recording = False
        self.trail: list[tuple[float, float]] = []
        self._pointer: QPoint | None = None
        """Where the pointer was (globally) when the pad last took its position."""

    def _geometry(self) -> tuple[QPointF, float]:
        r = min(self.width() - 126, self.height() - 60) / 2
        return QPointF(self.width() / 2, self.height() / 2), max(r, 10)

    def to_value(self, pos: QPointF) -> tuple[float, float]:
        c, r = self._geometry()
        v = (pos.x() - c.x()) / r
        a = (c.y() - pos.y()) / r
        if self.mode == "valence":
            a = 0.0
        elif self.mode == "arousal":
            v = 0.0
        norm = math.hypot(v, a)
        if norm > 1:
            v, a = v / norm, a / norm
        return v, a

    def to_point(self, v: float, a: float) -> QPointF:
        c, r = self._geometry()
        return QPointF(c.x() + v * r, c.y() - a * r)

    def set_value(self, v: float, a: float) -> None:
        self.valence, self.arousal = v, a
        self.moved.emit(v, a)
        self.update()

    def follow_pointer(self) -> None:
        """Take the pointer's position if it rests over the pad and has moved since the pad last took it: the pad
        may have appeared under it, and no move event comes until it moves (a joystick's value stays otherwise)."""
        where = QCursor.pos()
        if where == self._pointer:
            return
        self._pointer = where
        local = self.mapFromGlobal(where)
        if self.isVisible() and self.rect().contains(local):
            self.set_value(*self.to_value(QPointF(local)))

    def showEvent(self, e) -> None:  # noqa: N802
        super().showEvent(e)
        QTimer.singleShot(0, self, self.follow_pointer)  # once the layout has placed the pad

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        self._pointer = e.globalPosition().toPoint()
        self.set_value(*self.to_value(e.position()))

    def mousePressEvent(self, e) -> None:  # noqa: N802
        self._pointer = e.globalPosition().toPoint()
        self.set_value(*self.to_value(e.position()))

    def note_sample(self, v: float, a: float) -> None:
        self.trail.append((v, a))
        del self.trail[:-45]

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#fff"))
        c, r = self._geometry()
        # the disc, shaded by quadrant
        for k, colour in enumerate(("#e8f5e9", "#fff3e0", "#e3f2fd", "#f3e5f5")):
            p.setBrush(QColor(colour))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPie(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), k * 90 * 16, 90 * 16)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor("#90a4ae"), 1))
        p.drawEllipse(c, r, r)
        p.drawEllipse(c, r / 2, r / 2)
        p.drawLine(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))
        p.drawLine(QPointF(c.x(), c.y() - r), QPointF(c.x(), c.y() + r))
        f = QFont()
        f.setPointSize(8)
        p.setFont(f)
        p.setPen(QColor("#455a64"))
        for deg, word in ANCHORS:
            t = math.radians(deg)
            pt = QPointF(c.x() + (r + 8) * math.cos(t), c.y() - (r + 9) * math.sin(t))
            c_ = math.cos(t)
            box = QRectF(pt.x() - (60 if c_ < -0.3 else 0 if c_ > 0.3 else 30), pt.y() - 8, 60, 16)
            align = (Qt.AlignmentFlag.AlignRight if c_ < -0.3 else Qt.AlignmentFlag.AlignLeft if c_ > 0.3
                     else Qt.AlignmentFlag.AlignHCenter) | Qt.AlignmentFlag.AlignVCenter
            p.drawText(box, align, word)
        p.drawText(QRectF(c.x() + r - 74, c.y() - 16, 70, 14), Qt.AlignmentFlag.AlignRight, "valence →")
        p.drawText(QRectF(c.x() + 4, c.y() - r + 4, 70, 14), Qt.AlignmentFlag.AlignLeft, "arousal ↑")
        if self.mode != "2d":
            p.setPen(QPen(QColor("#1565c0"), 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            if self.mode == "valence":
                p.drawLine(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))
            else:
                p.drawLine(QPointF(c.x(), c.y() - r), QPointF(c.x(), c.y() + r))
        # the trail of recent samples and the pointer
        p.setPen(Qt.PenStyle.NoPen)
        for k, (v, a) in enumerate(self.trail):
            col = QColor("#ef6c00")
            col.setAlpha(int(40 + 200 * k / max(len(self.trail), 1)))
            p.setBrush(col)
            p.drawEllipse(self.to_point(v, a), 3, 3)
        p.setBrush(QColor("#d50000") if self.recording else QColor("#263238"))
        p.drawEllipse(self.to_point(self.valence, self.arousal), 7, 7)
        p.setPen(QColor("#263238"))
        p.drawText(QRectF(0, self.height() - 18, self.width(), 16), Qt.AlignmentFlag.AlignCenter,
                   f"valence {self.valence:+.2f}   arousal {self.arousal:+.2f}"
                   + ("   ● recording" if self.recording else ""))
        p.end()
