"""The video view: one RGB frame, letterboxed, with the subject's box and the frame number and time."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace

PLAYING, PAUSED = "▶", "‖"
"""The play state as the desk writes it (the info bar) and as the view draws it (a triangle, two bars)."""


class VideoView(QWidget):
    """Shows one RGB frame, letterboxed, with the subject's box and the frame number and time."""

    painted = Signal(int)
    """The index of the frame just painted (for latency measurements and tests)."""
    picked = Signal(int)
    """The track id of another face's box the annotator clicked (to make it the subject)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None
        self.index = -1
        self.box: tuple[float, float, float, float] | None = None
        self.others: list[tuple[int, tuple[float, float, float, float]]] = []
        """Other tracks' faces on this frame: (track id, box), drawn dashed; a click on one picks it."""
        self.show_box = True
        self.caption = ""
        self.badge = ""
        """PLAYING or PAUSED, drawn at the top right."""
        self.overlay = ""
        """A count over the middle of the picture (the countdown before a VA pass); empty: none."""
        self.painted_index = -1
        self.paints = 0

    def set_frame(self, index: int, rgb: np.ndarray, box: tuple[float, float, float, float] | None,
                  caption: str, others: list[tuple[int, tuple[float, float, float, float]]] | None = None) -> None:
        self._array = np.ascontiguousarray(rgb)  # the QImage borrows this buffer
        h, w, _ = self._array.shape
        self._image = QImage(self._array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.index, self.box, self.caption, self.others = index, box, caption, list(others or [])
        self.update()

    def to_widget(self, box: tuple[float, float, float, float]) -> QRectF:
        """A box in video pixels as a rectangle of this widget."""
        r = self.image_rect()
        s = r.width() / self._image.width() if self._image is not None else 1.0
        x1, y1, x2, y2 = box
        return QRectF(r.x() + x1 * s, r.y() + y1 * s, (x2 - x1) * s, (y2 - y1) * s)

    def mousePressEvent(self, e) -> None:  # noqa: N802 - Qt's name
        if self.show_box and e.button() == Qt.MouseButton.LeftButton:
            for tid, box in self.others:
                if self.to_widget(box).contains(e.position()):
                    self.picked.emit(tid)
                    return
        super().mousePressEvent(e)

    def set_state(self, badge: str, overlay: str = "") -> None:
        if (badge, overlay) != (self.badge, self.overlay):
            self.badge, self.overlay = badge, overlay
            self.update()

    def _draw_badge(self, p: QPainter) -> None:
        """Playing (a triangle) or paused (two bars) at the top right, drawn rather than written: a font may lack
        the signs."""
        x, w = self.width() - 30, 30
        p.fillRect(QRect(x, 0, w, 24), QColor(0, 0, 0, 150))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#69f0ae") if self.badge == PLAYING else QColor("white"))
        if self.badge == PLAYING:
            p.drawPolygon(QPolygonF([QPointF(x + 10, 5), QPointF(x + 22, 12), QPointF(x + 10, 19)]))
        else:
            p.drawRect(QRectF(x + 9, 6, 4, 12))
            p.drawRect(QRectF(x + 17, 6, 4, 12))

    def release(self) -> None:
        """Let go of the frame on screen (the window is closing)."""
        self._image = self._array = None

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#111"))
        if self._image is not None:
            r = self.image_rect()
            p.drawImage(r, self._image)
            if self.show_box and self.box is not None:
                p.setPen(QPen(QColor("#00e676"), 2))
                p.drawRect(self.to_widget(self.box))
            if self.show_box:
                for tid, box in self.others:  # another person: click to make them the subject
                    rect = self.to_widget(box)
                    p.setPen(QPen(QColor("#bdbdbd"), 1, Qt.PenStyle.DashLine))
                    p.drawRect(rect)
                    p.drawText(rect.adjusted(3, 2, 0, 0), Qt.AlignmentFlag.AlignTop, f"track {tid}: click to pick")
            p.setPen(QColor("white"))
            f = QFont()
            f.setPointSize(11)
            f.setBold(True)
            p.setFont(f)
            p.fillRect(QRect(0, 0, 10 + 8 * len(self.caption), 24), QColor(0, 0, 0, 150))
            p.drawText(QRect(6, 0, 1000, 24), Qt.AlignmentFlag.AlignVCenter, self.caption)
            if self.badge:
                self._draw_badge(p)
            if self.overlay:
                f.setPointSize(max(int(r.height() / 6), 14))
                p.setFont(f)
                side = p.fontMetrics().height() * 1.3
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(0, 0, 0, 140))
                p.drawEllipse(r.center(), side / 2, side / 2)
                p.setPen(QColor("#ff5252"))
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, self.overlay)
        p.end()
        self.painted_index = self.index
        self.paints += 1
        self.painted.emit(self.index)


Box = tuple[float, float, float, float]


def subject_faces(ws: Workspace, vid: str, n_frames: int) -> tuple[dict[int, Box], np.ndarray | None, str,
                                                                   dict[int, list[tuple[int, Box]]]]:
    """The subject's box per frame, the frames without the subject's face (None when the faces stage has not run
    on the video), why there is neither when its faces table cannot be read, and per frame the other tracks'
    boxes (track id, box)."""
    if not ws.faces_path(vid).exists():
        return {}, None, "", {}
    try:
        faces = FaceTracks.read(ws, vid)
        t = faces.target()
    except AffcurateError as exc:  # the video can be labelled without its box
        return {}, None, str(exc), {}
    boxes = {int(f): tuple(map(float, b)) for f, b in zip(t.frame, t.boxes, strict=True)}
    others: dict[int, list[tuple[int, Box]]] = {}
    subject = set(np.unique(t.track_id).tolist())
    for f, tid, b in zip(faces.frame, faces.track_id, faces.boxes, strict=True):
        if int(tid) not in subject:
            others.setdefault(int(f), []).append((int(tid), tuple(map(float, b))))
    return boxes, ~faces.mask(n_frames), "", others
