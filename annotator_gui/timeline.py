"""The timeline: rows of labels under the video over a window of frames, and above them the whole video in
one overview strip."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

EXPR_COLOURS = ["#9e9e9e", "#d32f2f", "#689f38", "#7b1fa2", "#fbc02d", "#1976d2", "#f57c00", "#5d4037"]
VALENCE_COLOUR = QColor("#1e88e5")
AROUSAL_COLOUR = QColor("#e53935")


def expr_colour(k: int) -> QColor:
    return QColor(EXPR_COLOURS[k % len(EXPR_COLOURS)])


@dataclass(frozen=True)
class Tick:
    """A second mark of the ruler: its frame, its x, its label and where the label is drawn (ruler coordinates)."""

    frame: float
    x: float
    label: str
    rect: QRect


@dataclass
class Row:
    """One row of the timeline."""

    name: str
    kind: str
    """presence (0/1 with intensity shading), classes (expression colours) or curves (VA lines)."""
    values: np.ndarray
    intensity: np.ndarray | None = None
    selected: bool = False
    read_only: bool = False
    faint: bool = False
    baseline: bool = False
    """Draw the row's absent line everywhere (an AU that was looked at is absent where not marked)."""


def _pixel_bins(n: int, px: int) -> np.ndarray:
    """The first index of each bin when ``n`` values share ``px`` pixels (at most one bin per value)."""
    return np.unique(np.linspace(0, n, min(px, n) + 1).astype(int)[:-1])


def _runs(v: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, end exclusive, value) of runs of equal values, NaN runs left out."""
    if len(v) == 0:
        return []
    change = np.flatnonzero(~((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1])))) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(v)]
    return [(int(a), int(b), float(v[a])) for a, b in zip(starts, ends, strict=False) if not np.isnan(v[a])]


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
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # ---- model ----------------------------------------------------------------------------------------
    def set_video(self, n_frames: int, fps: float) -> None:
        self.n_frames, self.fps = max(n_frames, 1), fps
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
    def _binned(self, v: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
        """Values in the window, reduced to at most one per pixel: (first frame of each bin, value)."""
        a, b = self.start, min(self.start + self.span, len(v))
        seg = v[a:b].astype(np.float64)
        if len(seg) <= self._px:
            return np.arange(a, b), seg
        edges = _pixel_bins(len(seg), self._px)
        if how == "max":
            filled = np.where(np.isnan(seg), -np.inf, seg)
            red = np.maximum.reduceat(filled, edges)
            red[np.isinf(red)] = np.nan
        else:  # the value at the bin's first frame
            red = seg[edges]
        return a + edges, red

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
                edges = _pixel_bins(len(cov), self._px)
                on = np.maximum.reduceat(cov.astype(np.int8), edges) > 0
                ends = np.r_[edges[1:], len(cov)]
                for a, b, v in _runs(on.astype(np.float64)):
                    if v:
                        x0 = self._overview_x(edges[a])
                        p.fillRect(QRectF(x0, 2, max(self._overview_x(ends[b - 1]) - x0, 1), H - 5), QColor("#64b5f6"))
        x0, x1 = self._overview_x(self.start), self._overview_x(self.start + self.span)
        p.setPen(QPen(QColor("#1565c0"), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x0, 1, max(x1 - x0, 2), H - 3))
        p.setPen(QPen(QColor("#d50000"), 1))
        xc = self._overview_x(self.current)
        p.drawLine(QPointF(xc, 0), QPointF(xc, H - 1))

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        W = self.width()
        self._draw_overview(p)
        p.translate(0, self.OVERVIEW_H)
        p.setPen(QColor("#555"))
        for tick in self.ticks():
            p.drawLine(int(tick.x), 0, int(tick.x), 5)
            p.drawText(tick.rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, tick.label)
        y = self.RULER_H
        # marked range
        if self.mark is not None:
            a, b = self.mark
            p.fillRect(QRectF(self._x(a), 0, max(self._x(b + 1) - self._x(a), 2), self.height()),
                       QColor(255, 235, 59, 90))
        for row in self.rows:
            h = self.CURVE_H if row.kind == "curves" else self.ROW_H
            if row.selected:
                p.fillRect(QRect(0, y, W, h), QColor("#e3f2fd"))
            p.setPen(QColor("#999" if row.faint or row.read_only else "#222"))
            p.drawText(QRect(4, y, self.HEADER - 8, h), Qt.AlignmentFlag.AlignVCenter, row.name)
            if row.kind == "curves":
                self._draw_curves(p, row, y, h)
            else:
                self._draw_bars(p, row, y, h)
            p.setPen(QColor("#e0e0e0"))
            p.drawLine(self.HEADER, y + h - 1, W, y + h - 1)
            y += h
        # current frame
        x = self._x(self.current)
        p.fillRect(QRectF(x, 0, max(self._x(self.current + 1) - x, 1.5), self.height()), QColor(0, 0, 0, 60))
        p.setPen(QPen(QColor("#000"), 1))
        p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def _draw_bars(self, p: QPainter, row: Row, y: int, h: int) -> None:
        frames, v = self._binned(row.values, "max" if row.kind == "presence" else "first")
        if row.kind == "presence" and row.intensity is not None:
            _, inten = self._binned(row.intensity, "max")
        else:
            inten = None
        ends = np.r_[frames[1:], min(self.start + self.span, len(row.values))]
        alpha = 110 if row.faint or row.read_only else 255
        if row.baseline:
            p.fillRect(QRectF(self._x(self.start), y + h * 0.45, self._x(ends[-1]) - self._x(self.start), h * 0.1),
                       QColor("#cfd8dc"))
        # one rectangle per run of equal values
        key = v if inten is None else np.where(np.isnan(inten), v, v * 10 + inten)
        for a, b, _ in _runs(key):
            val = v[a]
            if np.isnan(val) or val < 0:  # not labelled
                continue
            if row.kind == "presence":
                if val < 0.5:
                    c = QColor("#cfd8dc")
                    c.setAlpha(alpha)
                    p.fillRect(QRectF(self._x(frames[a]), y + h * 0.45, self._x(ends[b - 1]) - self._x(frames[a]),
                                      h * 0.1), c)
                    continue
                level = inten[a] if inten is not None and not np.isnan(inten[a]) else 3
                c = QColor.fromHsv(140, 60 + int(level) * 39, 220 - int(level) * 25, alpha)
            else:
                c = expr_colour(int(val))
                c.setAlpha(alpha)
            x0 = self._x(frames[a])
            p.fillRect(QRectF(x0, y + 2, max(self._x(ends[b - 1]) - x0, 1.0), h - 4), c)

    def _draw_curves(self, p: QPainter, row: Row, y: int, h: int) -> None:
        p.setPen(QColor("#bdbdbd"))
        mid = y + h / 2
        p.drawLine(self.HEADER, int(mid), self.width(), int(mid))
        for col, colour in ((0, VALENCE_COLOUR), (1, AROUSAL_COLOUR)):
            frames, v = self._binned(row.values[:, col], "first")
            c = QColor(colour)
            if row.faint:
                c.setAlpha(90)
            pen = QPen(c, 1.5 if not row.faint else 1.0)
            if row.faint:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            path = QPainterPath()
            pen_down = False
            for f, val in zip(frames, v, strict=False):
                if np.isnan(val):
                    pen_down = False
                    continue
                pt = QPointF(self._x(f + 0.5), mid - val * (h / 2 - 3))
                if pen_down:
                    path.lineTo(pt)
                else:
                    path.moveTo(pt)
                    pen_down = True
            p.drawPath(path)

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
