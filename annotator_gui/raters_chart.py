"""The inter-rater view's chart: every annotator's rows (AUs, expressions) or traces (valence, arousal) over the
frames the desk's timeline shows, segments of disagreement shaded red, the whole video in a strip above.

Rows are painted by the timeline's own functions (:mod:`annotator_gui.rows`); traces are one path per rater,
built from values reduced to at most one per pixel with numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from annotator_gui import rows as paint
from annotator_gui.raters import Rater, Raters, au_figure
from annotator_gui.rows import Drawn, Row, pixel_bins, window_bins

if TYPE_CHECKING:
    from annotator_gui.raters_view import RatersPanel

TRACE_COLOURS = ("#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#3949ab")
MINE = QColor("#212121")
SHADE = QColor(229, 57, 53, 45)


def binned_mean(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The mean of the rated values of each bin (NaN where none is rated), in one pass of numpy."""
    ok = ~np.isnan(v)
    sums = np.add.reduceat(np.where(ok, v, 0.0), edges)
    counts = np.add.reduceat(ok.astype(np.int64), edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def trace_path(xs: np.ndarray, ys: np.ndarray) -> tuple[QPainterPath, list[QPointF]]:
    """One path of the rated stretches of a trace (a subpath each, gaps left open), and its lone points."""
    path, dots = QPainterPath(), []
    ok = ~np.isnan(ys)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a == 1:
            dots.append(QPointF(float(xs[a]), float(ys[a])))
        else:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in zip(xs[a:b].tolist(), ys[a:b].tolist(), strict=True)]))
    return path, dots


class Chart(QWidget):
    """The annotators' rows or traces over the desk's window of frames."""

    HEADER = 170
    OVERVIEW_H = 16
    GROUP_H = 18
    ROW_H = 16
    PLOT_H = 130
    FOOTER_H = 16

    def __init__(self, panel: RatersPanel):
        super().__init__()
        self.panel = panel
        self.start, self.span = 0, 1
        self.items: list[tuple[str, object, int]] = []
        """(kind, what, height): ``group`` (an AU), ``row`` (a :class:`Row`), ``plot`` (valence or arousal)."""
        self.drawn = Drawn()
        self.traces: list[tuple[str, str, int]] = []
        """(valence or arousal, annotator, points of the path) of the last paint."""
        self.shaded: list[tuple[int, int]] = []
        """The segments of disagreement shaded by the last paint."""

    # ---- what the timeline's painting functions ask of their widget ----------------------------------------
    @property
    def px(self) -> int:
        return max(self.width() - self.HEADER - 4, 1)

    def x_of(self, frame: float) -> float:
        return self.HEADER + (frame - self.start) / self.span * self.px

    def frame_at(self, x: float) -> int:
        n = self.panel.desk.n_frames
        return int(min(max(self.start + (x - self.HEADER) / self.px * self.span, 0), n - 1))

    def binned(self, v: np.ndarray, how: str, unlabelled: bool = False) -> tuple[np.ndarray, np.ndarray]:
        return window_bins(v, self.start, self.span, self.px, how, unlabelled)

    # ---- layout --------------------------------------------------------------------------------------------
    def relayout(self) -> None:
        """The items for the panel's raters now (own edits included), and the height they take."""
        r = self.panel.raters
        self.items = []
        if r is not None:
            raters = r.raters()
            colours = self.panel.desk.scheme.colours
            if r.task == "au":
                for au in r.columns():
                    self.items.append(("group", au, self.GROUP_H))
                    self.items += [("row", Row(who(x), "presence", x.values.get(au, _none(r.n_frames)),
                                               x.values.get(f"{au}_intensity"), selected=x.mine, read_only=x.machine),
                                    self.ROW_H) for x in raters]
            elif r.task == "expr":
                self.items += [("row", Row(who(x), "classes", x.values.get("expr", _none(r.n_frames)),
                                           selected=x.mine, read_only=x.machine, colours=colours), self.ROW_H)
                               for x in raters]
            else:
                self.items += [("plot", c, self.PLOT_H) for c in r.columns()]
        self.setMinimumHeight(self.OVERVIEW_H + sum(h for _, _, h in self.items) + self.FOOTER_H)
        self.update()

    # ---- painting ------------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        desk, r = self.panel.desk, self.panel.raters
        tl = desk.timeline
        self.start, self.span = tl.start, max(tl.span, 1)
        self.drawn, self.traces, self.shaded = Drawn(), [], []
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        if r is None:
            p.end()
            return
        self._overview(p, r, desk.current)
        top, W = self.OVERVIEW_H, self.width()
        H = min(self.height(), top + sum(h for _, _, h in self.items))  # the rows' bottom
        for s in r.segments:  # under the labels, so that each row stays readable
            if s.end >= self.start and s.start < self.start + self.span:
                x0 = self.x_of(max(s.start, self.start))
                x1 = self.x_of(min(s.end + 1, self.start + self.span))
                p.fillRect(QRectF(x0, top, max(x1 - x0, paint.MIN_PX), H - top), SHADE)
                self.shaded.append((s.start, s.end))
        if tl.mark is not None:
            a, b = tl.mark
            p.fillRect(QRectF(self.x_of(a), top, max(self.x_of(b + 1) - self.x_of(a), 2), H - top),
                       QColor(255, 235, 59, 80))
        y = top
        raters = r.raters() if r.task == "va" else []
        for kind, what, h in self.items:
            if kind == "group":
                self._group(p, r, str(what), y, h, selected=(desk.task.name == "au" and desk.au.au == what))
            elif kind == "row":
                row = what
                if row.selected:
                    p.fillRect(QRect(0, y, self.HEADER, h), QColor("#e3f2fd"))
                paint.draw_header(p, self, row, y, h)
                paint.draw_bars(p, self, row, y, h)
            else:
                self._plot(p, str(what), raters, y, h)
            p.setPen(QColor("#e0e0e0"))
            p.drawLine(0, y + h - 1, W, y + h - 1)
            y += h
        self._footer(p, y)
        x = self.x_of(desk.current)
        p.fillRect(QRectF(x, top, max(self.x_of(desk.current + 1) - x, 1.5), H - top), QColor(0, 0, 0, 50))
        p.setPen(QPen(QColor("#000"), 1))
        p.drawLine(QPointF(x, top), QPointF(x, H))
        p.end()

    def _overview(self, p: QPainter, r: Raters, current: int) -> None:
        """The whole video: its segments of disagreement, the window shown, the current frame."""
        n, h = max(r.n_frames, 1), self.OVERVIEW_H

        def ox(f: float) -> float:
            return self.HEADER + f / n * self.px

        p.fillRect(QRectF(self.HEADER, 2, self.px, h - 5), QColor("#eceff1"))
        _font(p, 7)
        p.setPen(QColor("#78909c"))
        p.drawText(QRect(4, 0, self.HEADER - 8, h), Qt.AlignmentFlag.AlignVCenter, "disagreement, whole video")
        for s in r.segments:
            p.fillRect(QRectF(ox(s.start), 3, max(ox(s.end + 1) - ox(s.start), 1.5), h - 7), QColor("#e53935"))
        p.setPen(QPen(QColor("#1565c0"), 1))
        p.drawRect(QRectF(ox(self.start), 2, max(ox(self.start + self.span) - ox(self.start), 2), h - 5))
        p.setPen(QPen(QColor("#d50000"), 1))
        p.drawLine(QPointF(ox(current), 0), QPointF(ox(current), h - 2))

    def _footer(self, p: QPainter, y: int) -> None:
        """The first and last frame in view, under the rows (the desk's ruler shows the seconds)."""
        _font(p, 7)
        p.setPen(QColor("#78909c"))
        a, b = self.start, min(self.start + self.span, self.panel.raters.n_frames) - 1
        rect = QRect(self.HEADER, y + 1, self.px, self.FOOTER_H - 2)
        p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"frame {a}")
        p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"frame {b}")
        p.drawText(QRect(4, y + 1, self.HEADER - 8, self.FOOTER_H - 2), Qt.AlignmentFlag.AlignVCenter,
                   f"{b - a + 1} of {self.panel.raters.n_frames} frames in view")

    def _group(self, p: QPainter, r: Raters, au: str, y: int, h: int, selected: bool) -> None:
        """An AU's heading across the rows: its FACS name and merge's α and κ of it."""
        p.fillRect(QRect(0, y, self.width(), h), QColor("#bbdefb" if selected else "#eceff1"))
        _font(p, 8, bold=True)
        p.setPen(QColor("#0d47a1" if selected else "#263238"))
        title = self.panel.desk.scheme.au_title(au)
        p.drawText(QRect(4, y, self.width() - 8, h), Qt.AlignmentFlag.AlignVCenter, title)
        figure = au_figure(r.agreement, au) if r.agreement.available else ""
        if figure:
            _font(p, 8)
            p.drawText(QRect(self.HEADER, y, self.width() - self.HEADER - 8, h), Qt.AlignmentFlag.AlignVCenter,
                       figure)
        self.drawn.names.append(f"{title} {figure}".strip())

    def _plot(self, p: QPainter, column: str, raters: list[Rater], y: int, h: int) -> None:
        """One VA dimension: a trace per annotator, yours darker and thicker; the names, in their colours, left."""
        top, mid, bottom = y + 9, y + h / 2, y + h - 9
        p.setPen(QColor("#bdbdbd"))
        p.drawLine(QPointF(self.HEADER, mid), QPointF(self.width(), mid))
        p.setPen(QPen(QColor("#e0e0e0"), 1, Qt.PenStyle.DotLine))
        for yy in (top, bottom):
            p.drawLine(QPointF(self.HEADER, yy), QPointF(self.width(), yy))
        _font(p, 7)
        p.setPen(QColor("#78909c"))
        for text, yy in zip(self.panel.desk.scheme.va_scale(), (top, mid, bottom), strict=True):
            p.drawText(QRectF(self.HEADER - 34, yy - 7, 30, 14),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        _font(p, 9, bold=True)
        p.setPen(QColor("#263238"))
        p.drawText(QRect(4, y + 2, self.HEADER - 40, 16), Qt.AlignmentFlag.AlignVCenter, column)
        self.drawn.names.append(column)
        a, b = self.start, min(self.start + self.span, self.panel.raters.n_frames)
        frames = np.arange(a, b)
        edges = pixel_bins(b - a, self.px) if b - a > self.px else None
        if edges is not None:
            frames = a + edges
        xs = self.HEADER + (frames + 0.5 - self.start) / self.span * self.px
        for k, x in enumerate(raters):
            colour = MINE if x.mine else QColor(TRACE_COLOURS[(k - 1) % len(TRACE_COLOURS)])
            v = x.values.get(column, _none(self.panel.raters.n_frames))[a:b]
            v = binned_mean(v, edges) if edges is not None else v
            path, dots = trace_path(xs, mid - np.clip(v, -1, 1) * (h / 2 - 9))
            p.setPen(QPen(colour, 2.2 if x.mine else 1.4))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setBrush(colour)
            for d in dots:  # a lone rated frame is seen too
                p.drawEllipse(d, paint.MIN_PX, paint.MIN_PX)
            p.setBrush(Qt.BrushStyle.NoBrush)
            _font(p, 8, bold=x.mine)
            p.setPen(colour)
            name = p.fontMetrics().elidedText(who(x), Qt.TextElideMode.ElideRight, self.HEADER - 44)
            p.drawText(QRect(10, y + 20 + 14 * k, self.HEADER - 44, 14), Qt.AlignmentFlag.AlignVCenter, f"— {name}")
            self.drawn.names.append(who(x))
            self.traces.append((column, x.name, int((~np.isnan(v)).sum())))

    def mousePressEvent(self, e) -> None:  # noqa: N802
        x = e.position().x()
        if x < self.HEADER:
            return
        desk = self.panel.desk
        if e.position().y() < self.OVERVIEW_H:
            desk.seek(int(min(max((x - self.HEADER) / self.px * desk.n_frames, 0), desk.n_frames - 1)))
        else:
            desk.seek(self.frame_at(x))


def who(r: Rater) -> str:
    return f"{r.name}{' (you)' if r.mine else ''}{' (machine)' if r.machine else ''}"


def _none(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _font(p: QPainter, size: int, bold: bool = False) -> None:
    f = QFont(p.font())
    f.setPointSize(size)
    f.setBold(bold)
    p.setFont(f)

