"""The sound under the timeline: the open video's waveform over the timeline's frames in view, with the playhead.

It has no window of its own: it reads the timeline's (first frame, frames in view, width, current frame) at
every paint and repaints whenever the timeline does, so zooming, scrolling and playing move both together.
Each pixel column shows the lowest and highest sample of the frames under it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from annotator_gui.sound import Track
from annotator_gui.timeline import Timeline

WAVE = QColor("#5c6bc0")
MUTED = QColor("#b0bec5")
"""The waveform's colour while the sound is off or muted: still there to read, not what is heard."""


class Waveform(QWidget):
    """The open video's sound over the timeline's frames in view; a click goes to the frame under it."""

    seek = Signal(int)
    H = 40

    def __init__(self, timeline: Timeline, parent: QWidget | None = None):
        super().__init__(parent)
        self.timeline = timeline
        self.track: Track | None = None
        self.note = "no audio track"
        """What the row says when there is no track."""
        self.muted = False
        self.state = ""
        """Whether the sound is heard, under the row's name (on, off, muted at 2×, no device, none)."""
        self._level = 1.0
        self._cache: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None
        self.setFixedHeight(self.H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        timeline.installEventFilter(self)

    def set_track(self, track: Track | None, note: str = "") -> None:
        self.track, self.note, self._cache = track, note or "no audio track", None
        self._level = track.level if track is not None else 1.0
        self.update()

    def set_state(self, state: str, muted: bool) -> None:
        if (state, muted) != (self.state, self.muted):
            self.state, self.muted = state, muted
            self.update()

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802
        if e.type() == QEvent.Type.Paint:  # the timeline repaints: its window or playhead may have moved
            self.update()
        return False

    # ---- the envelope ---------------------------------------------------------------------------------
    def _px(self) -> int:
        """The timeline's drawing width (the two share a column, so a frame is at the same x in both)."""
        return max(self.timeline.width() - Timeline.HEADER - 4, 1)

    def envelope(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel column of the frames in view: (lowest, highest) sample, as fractions of the track's level
        (clipped to ±1)."""
        tl, tr = self.timeline, self.track
        key = (id(tr), tl.start, tl.span, self._px())
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        px = self._px()
        # the sample each column starts at: the frame under its left edge, as the timeline maps it
        edges = np.round((tl.start + np.arange(px + 1) / px * tl.span) / tr.fps * tr.rate).astype(np.int64)
        edges = np.clip(edges, 0, len(tr.samples))
        lo = np.zeros(px, dtype=np.float32)
        hi = np.zeros(px, dtype=np.float32)
        full = edges[:-1] < edges[1:]
        if full.any():
            seg = tr.samples[edges[0]:edges[-1]]
            starts = edges[:-1][full] - edges[0]
            lo[full] = np.maximum(np.minimum.reduceat(seg, starts) / self._level, -1)
            hi[full] = np.minimum(np.maximum.reduceat(seg, starts) / self._level, 1)
        self._cache = (key, (lo, hi))
        return lo, hi

    # ---- drawing --------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        head = Timeline.HEADER
        p.setPen(QColor("#555"))
        p.drawText(QRect(4, 2, head - 8, self.H // 2 - 2), Qt.AlignmentFlag.AlignVCenter, "sound")
        p.setPen(QColor("#555") if not self.muted else QColor("#c62828"))
        p.drawText(QRect(4, self.H // 2, head - 8, self.H // 2 - 2), Qt.AlignmentFlag.AlignVCenter, self.state)
        mid = self.H / 2
        if self.track is None:
            p.setPen(QColor("#90a4ae"))
            p.drawText(QRect(head, 0, self._px(), self.H), Qt.AlignmentFlag.AlignCenter, self.note)
        else:
            lo, hi = self.envelope()
            xs = head + np.arange(len(lo), dtype=np.float64) + 0.5
            half = mid - 2
            top = mid - np.maximum(hi, 1 / half) * half  # at least a hairline, so silence reads as a line
            bottom = mid - np.minimum(lo, -1 / half) * half
            outline = [QPointF(x, y) for x, y in zip(np.r_[xs, xs[::-1]], np.r_[top, bottom[::-1]], strict=True)]
            colour = MUTED if self.muted else WAVE
            p.setPen(QPen(colour, 1))
            p.setBrush(colour)
            p.drawPolygon(QPolygonF(outline))
        tl = self.timeline
        if tl.mark is not None:
            a, b = tl.mark
            p.fillRect(QRectF(tl.x_of(a), 0, max(tl.x_of(b + 1) - tl.x_of(a), 2), self.H), QColor(255, 235, 59, 90))
        x = tl.x_of(tl.current)
        p.fillRect(QRectF(x, 0, max(tl.x_of(tl.current + 1) - x, 1.5), self.H), QColor(0, 0, 0, 60))
        p.setPen(QPen(QColor("#000"), 1))
        p.drawLine(int(x), 0, int(x), self.H)
        p.setPen(QColor("#e0e0e0"))
        p.drawLine(head, self.H - 1, self.width(), self.H - 1)
        p.end()

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.position().x() >= Timeline.HEADER:
            self.seek.emit(self.timeline.frame_at(e.position().x()))
