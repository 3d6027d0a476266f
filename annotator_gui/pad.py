"""The valence-arousal pad: a disc whose pointer position is the rating."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from annotator_gui.scheme import Scheme


class VAPad(QWidget):
    """The valence-arousal disc: the pointer's position is the rating (valence right, arousal up).

    ``mode`` is ``2d``, ``valence`` (a horizontal line: only valence is rated) or ``arousal`` (vertical). The
    words around it, the numbers at its edges and the values it reads out are the workspace's ``scheme``; the
    values it gives stay in [-1, 1]."""

    moved = Signal(float, float)

    def __init__(self, scheme: Scheme, parent: QWidget | None = None):
        super().__init__(parent)
        self.scheme = scheme
        self.countdown = ""
        """The count shown over the disc before a pass starts (empty: none)."""
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

    def anchors(self) -> list[tuple[float, str]]:
        """The words around the disc: (degrees counter-clockwise from positive valence, word)."""
        return self.scheme.anchor_angles()

    def edge_numbers(self) -> dict[str, str]:
        """The scale's numbers at the disc's edges and centre, as drawn."""
        hi, mid, lo = self.scheme.va_scale()
        return {"valence_low": lo, "valence_high": hi, "arousal_low": lo, "arousal_high": hi, "centre": mid}

    def readout(self) -> str:
        return (f"valence {self.scheme.va_text(self.valence)}   arousal {self.scheme.va_text(self.arousal)}"
                + ("   ● recording" if self.recording else ""))

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
        for deg, word in self.anchors():
            t = math.radians(deg)
            pt = QPointF(c.x() + (r + 8) * math.cos(t), c.y() - (r + 9) * math.sin(t))
            c_ = math.cos(t)
            box = QRectF(pt.x() - (60 if c_ < -0.3 else 0 if c_ > 0.3 else 30), pt.y() - 8, 60, 16)
            align = (Qt.AlignmentFlag.AlignRight if c_ < -0.3 else Qt.AlignmentFlag.AlignLeft if c_ > 0.3
                     else Qt.AlignmentFlag.AlignHCenter) | Qt.AlignmentFlag.AlignVCenter
            p.drawText(box, align, word)
        p.drawText(QRectF(c.x() + r - 74, c.y() - 16, 70, 14), Qt.AlignmentFlag.AlignRight, "valence →")
        p.drawText(QRectF(c.x() + 4, c.y() - r + 4, 70, 14), Qt.AlignmentFlag.AlignLeft, "arousal ↑")
        self._draw_numbers(p, c, r)
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
        p.drawText(QRectF(0, self.height() - 18, self.width(), 16), Qt.AlignmentFlag.AlignCenter, self.readout())
        if self.countdown:
            self._draw_countdown(p, c, r)
        p.end()

    def _draw_numbers(self, p: QPainter, c: QPointF, r: float) -> None:
        """The scale at the disc's edges, inside it beside the axes' ends."""
        n = self.edge_numbers()
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        p.setPen(QColor("#546e7a"))
        p.drawText(QRectF(c.x() - r + 3, c.y() + 2, 44, 14), left, n["valence_low"])
        p.drawText(QRectF(c.x() + r - 47, c.y() + 2, 44, 14), right, n["valence_high"])
        p.drawText(QRectF(c.x() - 48, c.y() - r + 4, 44, 14), right, n["arousal_high"])
        p.drawText(QRectF(c.x() - 48, c.y() + r - 18, 44, 14), right, n["arousal_low"])
        p.drawText(QRectF(c.x() - 48, c.y() + 2, 44, 14), right, n["centre"])

    def _draw_countdown(self, p: QPainter, c: QPointF, r: float) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 255, 255, 170))
        p.drawEllipse(c, r, r)
        f = QFont()
        f.setPointSize(max(int(r / 3), 12))
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor("#d50000"))
        p.drawText(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), Qt.AlignmentFlag.AlignCenter, self.countdown)
