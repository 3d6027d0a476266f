"""The timeline's rows and how each is painted: AU presence shaded by intensity (the number written where it
fits), expression classes in their colours, valence-arousal curves on a value scale.

What a paint put where is kept in :class:`Drawn`, so that what the annotator sees can be checked from the
widget's own state rather than from pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen

if TYPE_CHECKING:
    from annotator_gui.timeline import Timeline

VALENCE_COLOUR = QColor("#1e88e5")
AROUSAL_COLOUR = QColor("#e53935")
NO_INTENSITY = QColor("#26a69a")
"""An AU present without an intensity: another hue than the intensity ramp, so that it is not read as one."""
ABSENT = QColor("#cfd8dc")
MIN_PX = 2.0
"""The narrowest a label is drawn: a one-frame label stays visible however far the timeline is zoomed out."""


def intensity_colour(level: float | None, alpha: int = 255) -> QColor:
    """The shade of an AU present with intensity ``level`` (1 light to 5 dark), or present with none."""
    if level is None or np.isnan(level):
        c = QColor(NO_INTENSITY)
        c.setAlpha(alpha)
        return c
    k = min(max(round(level), 1), 5)
    return QColor.fromHsv(140, 60 + k * 39, 220 - k * 25, alpha)


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
    detail: str = ""
    """Shown after the name where there is room (an AU's FACS name)."""
    colours: tuple[str, ...] = ()
    """classes: the colour of each class."""
    scale: tuple[str, str, str] | None = None
    """curves: the values written at the row's top, middle and bottom (+1, 0 and -1 as the desk shows them)."""

    @property
    def title(self) -> str:
        return f"{self.name} {self.detail}" if self.detail else self.name


@dataclass(frozen=True)
class Bar:
    """One run of one value drawn on a row: frames [start, end), where and how wide, the text written in it."""

    row: str
    start: int
    end: int
    x: float
    width: float
    value: float
    text: str = ""


@dataclass
class Drawn:
    """What the last paint put on the timeline."""

    names: list[str] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    scales: list[tuple[str, str, str]] = field(default_factory=list)
    no_face: list[tuple[int, int]] = field(default_factory=list)
    """Runs of frames [start, end) shaded as without the subject's face."""


def pixel_bins(n: int, px: int) -> np.ndarray:
    """The first index of each bin when ``n`` values share ``px`` pixels (at most one bin per value)."""
    return np.unique(np.linspace(0, n, min(px, n) + 1).astype(int)[:-1])


def runs(v: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, end exclusive, value) of runs of equal values, NaN runs left out."""
    if len(v) == 0:
        return []
    change = np.flatnonzero(~((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1])))) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(v)]
    return [(int(a), int(b), float(v[a])) for a, b in zip(starts, ends, strict=False) if not np.isnan(v[a])]


def reduce_bins(seg: np.ndarray, edges: np.ndarray, how: str) -> np.ndarray:
    """One value per bin: the largest (``max``), or the first that is labelled (``labelled``: NaN is not), so
    that one labelled frame among unlabelled ones still shows when many frames share a pixel."""
    if how == "max":
        red = np.maximum.reduceat(np.where(np.isnan(seg), -np.inf, seg), edges)
        red[np.isinf(red)] = np.nan
        return red
    idx = np.where(np.isnan(seg), len(seg), np.arange(len(seg)))
    first = np.minimum.reduceat(idx, edges)
    return np.where(first < len(seg), seg[np.minimum(first, len(seg) - 1)], np.nan)


def window_bins(v: np.ndarray, start: int, span: int, px: int, how: str,
                unlabelled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The values of frames [start, start + span) reduced to at most one per pixel: (first frame of each bin,
    value). ``how``: as :func:`reduce_bins`; ``unlabelled``: negative values are not labels."""
    a, b = start, min(start + span, len(v))
    seg = v[a:b].astype(np.float64)
    if unlabelled:
        seg[seg < 0] = np.nan
    if len(seg) <= px:
        return np.arange(a, b), seg
    edges = pixel_bins(len(seg), px)
    return a + edges, reduce_bins(seg, edges, how)


def _small_font(p: QPainter, size: int = 7) -> None:
    f = QFont(p.font())
    f.setPointSize(size)
    p.setFont(f)


def draw_bars(p: QPainter, tl: Timeline, row: Row, y: int, h: int) -> None:
    classes = row.kind == "classes"
    frames, v = tl.binned(row.values, "max" if row.kind == "presence" else "labelled", unlabelled=True)
    inten = tl.binned(row.intensity, "max")[1] if row.kind == "presence" and row.intensity is not None else None
    end = min(tl.start + tl.span, len(row.values))
    ends = np.r_[frames[1:], end]
    alpha = 110 if row.faint or row.read_only else 255
    if row.baseline and len(frames):
        p.fillRect(QRectF(tl.x_of(tl.start), y + h * 0.45, tl.x_of(end) - tl.x_of(tl.start), h * 0.1), ABSENT)
    _small_font(p)
    fm = p.fontMetrics()
    key = v if inten is None else np.where(np.isnan(inten), v * 10 - 1, v * 10 + inten)
    for a, b, _ in runs(key):  # one rectangle per run of equal values
        val = v[a]
        if np.isnan(val):  # not labelled
            continue
        x0 = tl.x_of(frames[a])
        width = max(tl.x_of(ends[b - 1]) - x0, MIN_PX)
        level = float(inten[a]) if inten is not None and not np.isnan(inten[a]) else None
        if not classes and val < 0.5:
            c = QColor(ABSENT)
            c.setAlpha(alpha)
            p.fillRect(QRectF(x0, y + h * 0.45, width, h * 0.1), c)
            tl.drawn.bars.append(Bar(row.name, int(frames[a]), int(ends[b - 1]), x0, width, 0.0))
            continue
        if classes:
            c = QColor(row.colours[int(val) % len(row.colours)] if row.colours else "#9e9e9e")
            c.setAlpha(alpha)
        else:
            c = intensity_colour(level, alpha)
        p.fillRect(QRectF(x0, y + 2, width, h - 4), c)
        text = "" if level is None else f"{round(level, 1):g}"
        if text and fm.horizontalAdvance(text) + 4 <= width:  # the intensity itself, where it fits
            p.setPen(QColor("#fff") if round(level) >= 3 else QColor("#1b5e20"))
            p.drawText(QRectF(x0, y, width, h), Qt.AlignmentFlag.AlignCenter, text)
        else:
            text = ""
        tl.drawn.bars.append(Bar(row.name, int(frames[a]), int(ends[b - 1]), x0, width, float(val), text))


def draw_curves(p: QPainter, tl: Timeline, row: Row, y: int, h: int) -> None:
    top, mid, bottom = y + 3, y + h / 2, y + h - 3
    p.setPen(QColor("#bdbdbd"))
    p.drawLine(tl.HEADER, int(mid), tl.width(), int(mid))
    p.setPen(QPen(QColor("#e0e0e0"), 1, Qt.PenStyle.DotLine))
    for yy in (top, bottom):  # the ends of the scale
        p.drawLine(QPointF(tl.HEADER, yy), QPointF(tl.width(), yy))
    if row.scale is not None:
        _small_font(p)
        p.setPen(QColor("#78909c"))
        for text, yy in zip(row.scale, (top, mid, bottom), strict=True):
            p.drawText(QRectF(tl.HEADER - 34, yy - 7, 30, 14),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        tl.drawn.scales.append(row.scale)
    for col, colour in ((0, VALENCE_COLOUR), (1, AROUSAL_COLOUR)):
        frames, v = tl.binned(row.values[:, col], "labelled")
        c = QColor(colour)
        if row.faint:
            c.setAlpha(90)
        pen = QPen(c, 1.5 if not row.faint else 1.0)
        if row.faint:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        path = QPainterPath()
        points: list[QPointF] = []
        for f, val in zip(frames, v, strict=False):
            if np.isnan(val):
                _end_stroke(p, c, points)
                points = []
                continue
            pt = QPointF(tl.x_of(f + 0.5), mid - val * (h / 2 - 3))
            if points:
                path.lineTo(pt)
            else:
                path.moveTo(pt)
            points.append(pt)
        _end_stroke(p, c, points)
        p.setPen(pen)
        p.drawPath(path)


def _end_stroke(p: QPainter, colour: QColor, points: list[QPointF]) -> None:
    """A stroke of one sample is a dot: a lone rated frame is seen too."""
    if len(points) == 1:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawEllipse(points[0], MIN_PX, MIN_PX)
        p.setBrush(Qt.BrushStyle.NoBrush)


def draw_header(p: QPainter, tl: Timeline, row: Row, y: int, h: int) -> None:
    """The row's name (and detail, elided to the room there is), left of its labels."""
    p.setPen(QColor("#999" if row.faint or row.read_only else "#222"))
    f = QFont(p.font())
    f.setPointSize(8)
    p.setFont(f)
    room = tl.HEADER - 8 - (36 if row.scale is not None else 0)
    text = p.fontMetrics().elidedText(row.title, Qt.TextElideMode.ElideRight, room)
    p.drawText(QRect(4, y, room, h), Qt.AlignmentFlag.AlignVCenter, text)
    tl.drawn.names.append(text)


def draw_no_face(p: QPainter, tl: Timeline, top: int, height: int, hatch: bool = False) -> None:
    """Shade the frames in view where the subject's face is not found: grey under the labels (the runs are kept
    in ``drawn``), then with ``hatch`` a light hatching over them, so that it shows on labelled frames too."""
    if tl.no_face is None:
        return
    frames, v = tl.binned(tl.no_face.astype(np.float64), "max")
    ends = np.r_[frames[1:], min(tl.start + tl.span, len(tl.no_face))]
    for a, b, val in runs(v):
        if val < 0.5:
            continue
        x0 = tl.x_of(frames[a])
        rect = QRectF(x0, top, max(tl.x_of(ends[b - 1]) - x0, MIN_PX), height)
        if hatch:
            p.fillRect(rect, QBrush(QColor(38, 50, 56, 150), Qt.BrushStyle.BDiagPattern))
        else:
            p.fillRect(rect, QColor(96, 125, 139, 45))
            tl.drawn.no_face.append((int(frames[a]), int(ends[b - 1])))
