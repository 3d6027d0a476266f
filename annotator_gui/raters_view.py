"""The inter-rater view: beside the desk, every annotator's rows (AUs, expressions) or traces (valence, arousal) of
the current video and task, the agreement figures of the last merge, and a jump to the next disagreement.

The rows cover the frames the desk's timeline shows (it follows its zoom and scrolling), with the whole video in a
strip above (:mod:`annotator_gui.raters_chart`); the data is :mod:`annotator_gui.raters`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout

from annotator_gui.raters import DISAGREEMENTS, Raters, figures_text
from annotator_gui.raters_chart import Chart, who

if TYPE_CHECKING:
    from annotator_gui.window import Desk

__all__ = ["RatersPanel"]


class RatersPanel(QDialog):
    """The inter-rater view of the desk's current video and task, in a window of its own beside the desk.

    The desk's keys work in it too. It follows the desk: another video or mode, an edit, a seek or the timeline's
    zoom show at once while it is open."""

    def __init__(self, desk: Desk):
        super().__init__(desk)
        self.desk = desk
        self.raters: Raters | None = None
        self._shown: tuple[str | None, str] | None = None
        self._dirty = False
        self.setWindowTitle("affcurate desk — inter-rater view")
        self.heading = QLabel()
        self.figures = QLabel()
        self.note = QLabel()
        self.note.setStyleSheet("color: #bf360c")
        for label in (self.heading, self.figures, self.note):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
        self.chart = Chart(self)
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        self.where = QLabel()
        self.where.setTextFormat(Qt.TextFormat.RichText)
        self.next_button = QPushButton("Next disagreement")
        self.next_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.next_button.clicked.connect(self.next_disagreement)
        bar = QHBoxLayout()
        bar.addWidget(self.where, 1)
        bar.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        for w in (self.heading, self.figures, self.note):
            lay.addWidget(w)
        lay.addWidget(scroll, 1)
        lay.addLayout(bar)
        desk.timeline.installEventFilter(self)  # each repaint of the timeline is a change the view may show
        self.resize(1000, 560)

    # ---- the API the desk's keys use ---------------------------------------------------------------------
    def toggle(self) -> None:
        """Show the view (brought up to date) or hide it."""
        if self.isVisible():
            self.hide()
            return
        mine = self.actions()
        self.addActions([a for a in self.desk.actions() if a not in mine])  # the desk's keys work here too
        keys = self.desk.qactions.get("raters_next") if hasattr(self.desk, "qactions") else None
        if keys is not None and keys.shortcut().toString():
            self.next_button.setText(f"Next disagreement ({keys.shortcut().toString()})")
        self.refresh()
        self.show()
        self.raise_()

    def refresh(self) -> None:
        """Read the desk's current video and task again: the annotators, the figures, the segments."""
        d = self.desk
        self._shown = (d.video_id, d.task.name)
        self._dirty = d.session.dirty
        self.raters = r = Raters(d.ws, d.session, d.task.name)
        names = ", ".join(escape(who(x)) for x in r.raters())
        self.heading.setText(f"<b>{escape(str(d.video_id))}</b> · {d.task.title} · {names}")
        self.figures.setText(escape(figures_text(r.task, r.agreement)))
        notes = [r.agreement.stale, r.segments_error]
        if r.left_out:
            notes.append(f"machine labels of {', '.join(r.left_out)} not shown: merge left them out "
                         f"(its machine rule was {r.machine_rule})")
        self.note.setText(escape("; ".join(n for n in notes if n)))
        self.note.setVisible(any(notes))
        self.chart.relayout()
        self._where()

    def next_disagreement(self) -> int | None:
        """Go to the start of the next segment of disagreement after the current frame and mark the segment as
        the desk's range (its AU chosen in AU mode); the frame gone to, or None when there is none after it."""
        d = self.desk
        if self.raters is None or self._shown != (d.video_id, d.task.name):
            self.refresh()
        after = d.current
        here = self.raters.segment_at(d.current)
        if here is not None and self.raters.segments[here].start == d.current:
            s = self.raters.segments[here]
            if not (d.marks.marked and d.target_range() == (s.start, s.end)):
                after -= 1  # a segment that starts here and was not gone to yet (frame 0, on opening) is next
        seg = self.raters.next_segment(after)
        if seg is None:
            why = "" if self.raters.segments or (d.ws.root / DISAGREEMENTS).exists() else \
                " (merge has not run)"
            msg = f"no disagreement on {d.task.title} after frame {d.current}{why}"
            self.where.setText(escape(msg))
            d.statusBar().showMessage(msg)
            return None
        d.pause()
        if d.task.name == "au" and d.au.au not in seg.labels and seg.labels[0] in d.aus:
            d.select_au(d.aus.index(seg.labels[0]))
        d.seek(seg.start)
        d.marks.set_out(seg.end)
        d.set_mark_in()
        tl = d.timeline
        if seg.end >= tl.start + tl.span:  # the whole segment in view, where it fits
            tl.start = max(0, min(seg.start - tl.span // 4, tl.n_frames - tl.span))
            tl.update()
        k = self.raters.segments.index(seg)
        d.statusBar().showMessage(f"disagreement {k + 1} of {len(self.raters.segments)}: frames "
                                  f"{seg.start}–{seg.end} ({', '.join(seg.labels)})")
        self._where()
        return seg.start

    # ---- following the desk --------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802
        if e.type() == QEvent.Type.Paint and self.isVisible():
            QTimer.singleShot(0, self._follow)  # after the desk's change is done
        return False

    def _follow(self) -> None:
        d = self.desk
        if not self.isVisible() or d.session is None:
            return
        if self._shown != (d.video_id, d.task.name) or self._dirty != d.session.dirty:  # or edited, or saved
            self.refresh()
        else:
            self.chart.relayout()
            self._where()

    def _where(self) -> None:
        r = self.raters
        n = len(r.segments)
        if not n:
            self.where.setText("no segment of disagreement" if r.agreement.available or
                               (self.desk.ws.root / DISAGREEMENTS).exists() else "")
            return
        k = r.segment_at(self.desk.current)
        here = "" if k is None else (f" · <b>here: segment {k + 1}</b>, frames {r.segments[k].start}–"
                                     f"{r.segments[k].end} ({escape(', '.join(r.segments[k].labels))})")
        self.where.setText(f"<span style='color:#c62828'>■</span> {n} segment{'s' if n != 1 else ''} of "
                           f"disagreement{here}")
