"""The timeline: rows of labels under the video over a window of frames, and above them the whole video in
one overview strip."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from annotator_gui import rows as paint
from annotator_gui.rows import Drawn, Row, pixel_bins, runs, window_bins

__all__ = ["Row", "Tick", "Timeline"]


@dataclass(frozen=True)
class Tick:
    """A second mark of the ruler: its frame, its x, its label and where the label is drawn (ruler coordinates)."""

    frame: float
    x: float
    label: str
    rect: QRect


class Timeline(QWidget):
    """Rows of labels under the video over a window of frames, with the current frame and the marked range.

    Click to go to a frame; drag to mark a range; wheel to scroll, Ctrl+wheel to zoom."""

    seek = Signal(int)
    marked = Signal(int, int)

    HEADER = 150
    SPAN = 600
    """Frames a video opens with in view (all of a shorter one)."""
    ROW_H = 16
    OVERVIEW_H = 14
    RULER_H = 18
    CURVE_H = 120

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.n_frames = 1
        self.fps = 30.0
        self.current = 0
        self.mark: tuple[int, int] | None = None
        self.rows: list[Row] = []
        self._span = float(self.SPAN)  # frames visible, unrounded so that zooming back returns to the same view
        self.start = 0
        self._drag_from: int | None = None
        self.coverage: Callable[[], np.ndarray] | None = None
        """Frames that carry labels of the mode, for the overview strip of the whole video."""
        self.no_face: np.ndarray | None = None
        """Per frame: the subject's face is not there (shaded); None when the video's faces are not known."""
        self.drawn = Drawn()
        """What the last paint drew where."""
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # ---- model ----------------------------------------------------------------------------------------
    def set_video(self, n_frames: int, fps: float, no_face: np.ndarray | None = None) -> None:
        self.n_frames, self.fps, self.no_face = max(n_frames, 1), fps, no_face
        self._span = float(min(self.n_frames, self.SPAN))  # each video opens at its own length, not the last zoom
        self.start = 0
        self.update()

    def set_rows(self, rows: list[Row]) -> None:
        self.rows = rows
        self.setMinimumHeight(self.sizeHint().height())
        self.update()

    def sizeHint(self):  # noqa: N802
        h = self.OVERVIEW_H + self.RULER_H + sum(self.CURVE_H if r.kind == "curves" else self.ROW_H
                                                 for r in self.rows) + 6
        return QSize(600, max(h, 80))

    def set_current(self, frame: int) -> None:
        self.current = frame
        if not self.start <= frame < self.start + self.span:
            self.start = max(0, min(frame - self.span // 4, self.n_frames - self.span))
        self.update()

    @property
    def span(self) -> int:
        """Frames visible."""
        return max(1, min(self.n_frames, round(self._span)))

    def zoom(self, factor: float) -> None:
        """Show ``factor`` times as many frames around the current one (between 30 and the whole video)."""
        self._span = min(float(self.n_frames), max(30.0, self._span * factor))
        self.start = max(0, min(self.current - self.span // 2, self.n_frames - self.span))
        self.update()

    # ---- geometry -------------------------------------------------------------------------------------
    def _x(self, frame: float) -> float:
        return self.HEADER + (frame - self.start) / self.span * self._px

    x_of = _x

    @property
    def _px(self) -> int:
        """Pixels of the drawing area right of the row names."""
        return max(self.width() - self.HEADER - 4, 1)

    def frame_at(self, x: float) -> int:
        f = self.start + (x - self.HEADER) / self._px * self.span
        return int(min(max(math.floor(f), 0), self.n_frames - 1))

    def ticks(self) -> list[Tick]:
        """The ruler's marks over the frames in view, at a round number of seconds about 90 px apart."""
        step = _nice_step(self.span / self.fps, max((self.width() - self.HEADER) // 90, 1))
        fm = self.fontMetrics()
        out = []
        k = math.ceil(self.start / self.fps / step - 1e-9)
        while (t := round(k * step, 3)) * self.fps < self.start + self.span:
            x, label = self._x(t * self.fps), _clock(t)
            w = fm.horizontalAdvance(label)
            left = int(x) + 2 if int(x) + 2 + w < self.width() else int(x) - 2 - w  # no label cut at the right
            rect = QRect(left, 1, w, self.RULER_H - 4)
            out.append(Tick(t * self.fps, x, label, rect))
            k += 1
        return out

    # ---- drawing --------------------------------------------------------------------------------------
    def binned(self, v: np.ndarray, how: str, unlabelled: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Values in the window, reduced to at most one per pixel: (first frame of each bin, value). ``how``:
        max, or labelled (the first labelled value of the bin); ``unlabelled``: negative values are not labels."""
        return window_bins(v, self.start, self.span, self._px, how, unlabelled)

    def _overview_x(self, frame: float) -> float:
        return self.HEADER + frame / self.n_frames * self._px

    def _draw_overview(self, p: QPainter) -> None:
        """The whole video in one strip: where there are labels, the window shown below, the current frame."""
        H = self.OVERVIEW_H
        p.fillRect(QRectF(self.HEADER, 1, self._px, H - 3), QColor("#eceff1"))
        p.setPen(QColor("#78909c"))
        p.drawText(QRect(4, 0, self.HEADER - 8, H), Qt.AlignmentFlag.AlignVCenter, "whole video")
        if self.coverage is not None:
            cov = np.asarray(self.coverage(), dtype=bool)
            if len(cov):
                edges = pixel_bins(len(cov), self._px)
                on = np.maximum.reduceat(cov.astype(np.int8), edges) > 0
                ends = np.r_[edges[1:], len(cov)]
                for a, b, v in runs(on.astype(np.float64)):
                    if v:
                        x0 = self._overview_x(edges[a])
                        p.fillRect(QRectF(x0, 2, max(self._overview_x(ends[b - 1]) - x0, 1), H - 5), QColor("#64b5f6"))
        if self.no_face is not None and len(self.no_face):  # where the face is missing, under the strip
            edges = pixel_bins(len(self.no_face), self._px)
            gone = np.maximum.reduceat(self.no_face.astype(np.int8), edges).astype(np.float64)
            ends = np.r_[edges[1:], len(self.no_face)]
            for a, b, v in runs(gone):
                if v:
                    x0 = self._overview_x(edges[a])
                    p.fillRect(QRectF(x0, H - 4, max(self._overview_x(ends[b - 1]) - x0, 1), 2), QColor("#546e7a"))
        x0, x1 = self._overview_x(self.start), self._overview_x(self.start + self.span)
        p.setPen(QPen(QColor("#1565c0"), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x0, 1, max(x1 - x0, 2), H - 3))
        p.setPen(QPen(QColor("#d50000"), 1))
        xc = self._overview_x(self.current)
        p.drawLine(QPointF(xc, 0), QPointF(xc, H - 1))

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        self.drawn = Drawn()
        p.fillRect(self.rect(), QColor("#fafafa"))
        W = self.width()
        self._draw_overview(p)
        p.translate(0, self.OVERVIEW_H)
        p.setPen(QColor("#555"))
        for tick in self.ticks():
            p.drawLine(int(tick.x), 0, int(tick.x), 5)
            p.drawText(tick.rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, tick.label)
        y = self.RULER_H
        if self.no_face is not None and self.no_face.any():
            p.setPen(QColor("#78909c"))  # the shading's legend, left of the ruler
            p.drawText(QRect(4, 0, self.HEADER - 8, y), Qt.AlignmentFlag.AlignVCenter, "▨ no face")
        heights = [self.CURVE_H if row.kind == "curves" else self.ROW_H for row in self.rows]
        tops = [y + sum(heights[:k]) for k in range(len(heights))]
        for row, top, h in zip(self.rows, tops, heights, strict=True):
            if row.selected:  # under the shading of frames without a face
                p.fillRect(QRect(0, top, W, h), QColor("#e3f2fd"))
        paint.draw_no_face(p, self, y, self.height())
        if self.mark is not None:
            a, b = self.mark
            p.fillRect(QRectF(self._x(a), 0, max(self._x(b + 1) - self._x(a), 2), self.height()),
                       QColor(255, 235, 59, 90))
        for row, y, h in zip(self.rows, tops, heights, strict=True):
            paint.draw_header(p, self, row, y, h)
            if row.kind == "curves":
                paint.draw_curves(p, self, row, y, h)
            else:
                paint.draw_bars(p, self, row, y, h)
            p.setPen(QColor("#e0e0e0"))
            p.drawLine(self.HEADER, y + h - 1, W, y + h - 1)
        paint.draw_no_face(p, self, self.RULER_H, self.height(), hatch=True)
        # current frame
        x = self._x(self.current)
        p.fillRect(QRectF(x, 0, max(self._x(self.current + 1) - x, 1.5), self.height()), QColor(0, 0, 0, 60))
        p.setPen(QPen(QColor("#000"), 1))
        p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    # ---- mouse ----------------------------------------------------------------------------------------
    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.position().x() < self.HEADER:
            return
        if e.position().y() < self.OVERVIEW_H:  # the whole-video strip: go there
            f = int(min(max((e.position().x() - self.HEADER) / self._px * self.n_frames, 0), self.n_frames - 1))
            self.start = max(0, min(f - self.span // 2, self.n_frames - self.span))
            self.seek.emit(f)
            return
        f = self.frame_at(e.position().x())
        self._drag_from = f
        self.seek.emit(f)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        f = self.frame_at(e.position().x())
        if f != self._drag_from:
            self.marked.emit(min(f, self._drag_from), max(f, self._drag_from))

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self._drag_from = None

    def wheelEvent(self, e) -> None:  # noqa: N802
        d = e.angleDelta().y()
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(0.8 if d > 0 else 1.25)
        else:
            shift = int(self.span * 0.1) * (-1 if d > 0 else 1)
            self.start = max(0, min(self.start + shift, self.n_frames - self.span))
            self.update()


def _nice_step(seconds: float, ticks: int) -> float:
    raw = seconds / max(ticks, 1)
    for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800):
        if s >= raw:
            return s
    return 3600


def _clock(t: float) -> str:
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}" if t % 1 else f"{int(m)}:{int(s):02d}"
