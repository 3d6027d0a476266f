"""The annotation desk: one window for AUs, expressions and continuous valence-arousal, keyboard first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIntValidator, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from affcurate.errors import AffcurateError
from affcurate.faces.stage import target_boxes
from affcurate.workspace import Workspace
from annotator_gui import edits
from annotator_gui.joystick import Joystick
from annotator_gui.pad import VAPad
from annotator_gui.session import Session, progress_of
from annotator_gui.timeline import EXPR_COLOURS, Row, Timeline
from annotator_gui.video import FrameSource
from annotator_gui.view import VideoView

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
MODES = ("au", "expr", "va")
MODE_NAMES = {"au": "AU", "expr": "EXPR", "va": "VA"}
TICK_MS = 15
"""Playback clock: every tick shows the frame due at that moment and, while recording, samples the pad
(about 66 samples a second, each tied to the frame on screen)."""


@dataclass
class ActionSpec:
    name: str
    text: str
    keys: tuple[str, ...]
    handler: Callable[[], None]
    group: str


class HelpOverlay(QWidget):
    """Every action and its keys, over the video; F1 or ? shows and hides it."""

    def __init__(self, parent: QWidget, specs: list[ActionSpec]):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(20, 20, 20, 225))
        self.setPalette(pal)
        groups: dict[str, list[ActionSpec]] = {}
        digits = [sp for sp in specs if sp.name.startswith("digit")]
        for sp in specs:
            if not sp.name.startswith("digit"):
                groups.setdefault(sp.group, []).append(sp)

        def table(items: list[ActionSpec]) -> str:
            return "<table>" + "".join(
                f"<tr><td style='color:#ffd54f;padding-right:10px'><b>{' / '.join(sp.keys)}</b></td>"
                f"<td>{sp.text}</td></tr>" for sp in items) + "</table>"

        cells = {g: f"<h3 style='color:#90caf9'>{g}</h3>{table(items)}" for g, items in groups.items()}
        digit_rows = "".join(
            f"<tr><td style='color:#ffd54f'><b>{sp.keys[0]}</b></td>"
            + "".join(f"<td style='padding-left:10px'>{part.split(': ', 1)[1] if ': ' in part else ''}</td>"
                      for part in _split_digit(sp.text)) + "</tr>" for sp in digits)
        cells["Digits"] = ("<h3 style='color:#90caf9'>Digits</h3><table><tr><td></td><td style='padding-left:10px'>"
                           "<i>AU mode</i></td><td style='padding-left:10px'><i>EXPR mode</i></td></tr>"
                           + digit_rows + "</table>")
        columns = [["Navigate", "Modes"], ["Mark and label", "Digits"], ["Valence-arousal", "Edit", "View"]]
        html = "<table width='100%'><tr>" + "".join(
            "<td valign='top' style='padding-right:18px'>" + "".join(cells.get(g, "") for g in col) + "</td>"
            for col in columns) + "</tr></table>"
        self.label = QLabel(html, self)
        self.label.setStyleSheet("color: white; font-size: 10pt;")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 12, 24, 12)
        lay.addWidget(self.label)
        self.hide()

    def text(self) -> str:
        return self.label.text()


def _split_digit(text: str) -> tuple[str, str]:
    """'AU: … · EXPR: …' into its AU part and its EXPR part (either may be missing)."""
    au = next((p for p in text.split(" · ") if p.startswith("AU")), "")
    expr = next((p for p in text.split(" · ") if p.startswith("EXPR")), "")
    return au, expr


class Desk(QMainWindow):
    def __init__(self, ws: Workspace, annotator: str, video: str | None = None, task: str = "au",
                 joystick: str | None = "auto"):
        super().__init__()
        self.ws = ws
        self.annotator = annotator
        self.fps = float(ws.settings.ingest.fps)
        self.aus = tuple(ws.settings.labels.aus)
        self.expressions = tuple(ws.settings.labels.expressions)
        self.videos = ws.video_ids()
        if not self.videos:
            raise AffcurateError(f"{ws.root}: no ingested video to annotate; run affcurate ingest first")
        if video is not None and video not in self.videos:
            raise AffcurateError(f"{video}: no such ingested video in {ws.root} "
                                 f"(videos: {', '.join(self.videos[:5])}{', …' if len(self.videos) > 5 else ''})")
        self.mode = task
        self.session: Session | None = None
        self.source: FrameSource | None = None
        self.video_id: str | None = None
        self.boxes: dict[int, tuple[float, float, float, float]] = {}
        self.current = 0
        self.speed = 1.0
        self.playing = False
        self.recording = False
        self.au_sel = 0
        self.mark_in: int | None = None
        self.mark_out: int | None = None
        self.show_overlays = True
        self.va_samples: list[tuple[float, int]] = []
        """(seconds since playback started, frame) of every VA sample of the current pass."""
        self._clock = QElapsedTimer()
        self._play_from = 0
        self._build()
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.setInterval(TICK_MS)
        self._play_timer.timeout.connect(self._tick)
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(500)
        self._sync_timer.timeout.connect(self._sync)
        self._sync_timer.start()
        self.joystick: Joystick | None = None
        if joystick == "auto":
            self.joystick = Joystick.find()
        elif joystick not in (None, "off"):
            try:
                self.joystick = Joystick(joystick)
            except OSError as exc:
                raise AffcurateError(f"{joystick}: cannot open the joystick ({exc.strerror})") from None
        self._stick_timer = QTimer(self)
        self._stick_timer.setInterval(TICK_MS)
        self._stick_timer.timeout.connect(self._poll_stick)
        if self.joystick is not None:
            self._stick_timer.start()
        self.resize(1400, 860)
        self.open_video(video or self.videos[0])
        self.set_mode(task)
        self.view.setFocus()

    # ---- building -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.video_list = QListWidget()
        self.video_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.video_list.setMinimumWidth(220)
        self.video_list.itemClicked.connect(lambda item: self.open_video(item.data(Qt.ItemDataRole.UserRole)))
        self.view = VideoView()
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.timeline = Timeline()
        self.timeline.seek.connect(self._timeline_seek)
        self.timeline.marked.connect(self._timeline_marked)
        self.info = QLabel()
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.jump = QLineEdit()
        self.jump.setPlaceholderText("frame (Ctrl+G)")
        self.jump.setMaximumWidth(130)
        self.jump.setValidator(QIntValidator(0, 10**9))
        self.jump.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.jump.returnPressed.connect(self._jump_entered)
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addWidget(QLabel("go to"))
        bar.addWidget(self.jump)
        centre = QWidget()
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view, 1)
        lay.addLayout(bar)
        lay.addWidget(self.timeline)
        # the panel of the mode
        self.au_list = QListWidget()
        self.au_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for au in self.aus:
            self.au_list.addItem(au)
        self.au_list.currentRowChanged.connect(self._au_clicked)
        au_panel = QWidget()
        al = QVBoxLayout(au_panel)
        al.addWidget(QLabel("<b>Action Units</b> (↑/↓ choose)"))
        al.addWidget(self.au_list, 1)
        al.addWidget(QLabel("I / O mark in / out, or drag on the timeline<br>P present · 1-5 intensity · "
                            "0 absent<br>T toggle · Del clear · A accept machine labels"))
        expr_panel = QWidget()
        el = QVBoxLayout(expr_panel)
        el.addWidget(QLabel("<b>Expressions</b> (one per frame)"))
        self.expr_labels = []
        for k, name in enumerate(self.expressions):
            lab = QLabel(f"<span style='background:{EXPR_COLOURS[k % len(EXPR_COLOURS)]}'>&nbsp;&nbsp;&nbsp;"
                         f"</span>&nbsp;<b>{k + 1}</b>&nbsp;{name}")
            el.addWidget(lab)
            self.expr_labels.append(lab)
        el.addWidget(QLabel("keys label the frame, or the marked range<br>Del removes"))
        el.addStretch(1)
        va_panel = QWidget()
        vl = QVBoxLayout(va_panel)
        head = QLabel("<b>Valence-arousal</b>: R arms recording, Space plays, V switches 2-D / valence only / "
                      "arousal only. On the timeline <span style='color:#1e88e5'>valence</span> and "
                      "<span style='color:#e53935'>arousal</span>; others' traces dashed.")
        head.setWordWrap(True)
        vl.addWidget(head)
        self.pad = VAPad()
        vl.addWidget(self.pad, 1)
        self.panels = QStackedWidget()
        for w in (au_panel, expr_panel, va_panel):
            self.panels.addWidget(w)
        self.panels.setMinimumWidth(390)
        self.panels.setMaximumWidth(460)
        split = QSplitter()
        split.addWidget(self.video_list)
        split.addWidget(centre)
        split.addWidget(self.panels)
        split.setStretchFactor(1, 1)
        self.setCentralWidget(split)
        self.specs = self._actions()
        self.help = HelpOverlay(split, self.specs)
        self._centre = split
        self.statusBar().showMessage("F1 shows every key")
        self._fill_video_list()

    def _actions(self) -> list[ActionSpec]:
        specs = [
            ActionSpec("play", "Play / pause", ("Space",), self.toggle_play, "Navigate"),
            ActionSpec("next", "Next frame", ("Right",), lambda: self.step(1), "Navigate"),
            ActionSpec("prev", "Previous frame", ("Left",), lambda: self.step(-1), "Navigate"),
            ActionSpec("next_s", "Forward 1 s", ("Shift+Right",), lambda: self.step(int(self.fps)), "Navigate"),
            ActionSpec("prev_s", "Back 1 s", ("Shift+Left",), lambda: self.step(-int(self.fps)), "Navigate"),
            ActionSpec("first", "First frame", ("Home",), lambda: self.seek(0), "Navigate"),
            ActionSpec("last", "Last frame", ("End",), lambda: self.seek(self.n_frames - 1), "Navigate"),
            ActionSpec("jump", "Go to frame…", ("Ctrl+G",), self.focus_jump, "Navigate"),
            ActionSpec("slower", "Slower (0.25× … 2×)", ("[",), lambda: self.change_speed(-1), "Navigate"),
            ActionSpec("faster", "Faster", ("]",), lambda: self.change_speed(1), "Navigate"),
            ActionSpec("zoom_in", "Zoom the timeline in", ("=", "+"), lambda: self.timeline.zoom(0.5), "Navigate"),
            ActionSpec("zoom_out", "Zoom the timeline out", ("-",), lambda: self.timeline.zoom(2.0), "Navigate"),
            ActionSpec("next_video", "Next video", ("PgDown",), lambda: self.other_video(1), "Navigate"),
            ActionSpec("prev_video", "Previous video", ("PgUp",), lambda: self.other_video(-1), "Navigate"),
            ActionSpec("mode_au", "AU mode", ("F2",), lambda: self.set_mode("au"), "Modes"),
            ActionSpec("mode_expr", "Expression mode", ("F3",), lambda: self.set_mode("expr"), "Modes"),
            ActionSpec("mode_va", "Valence-arousal mode", ("F4",), lambda: self.set_mode("va"), "Modes"),
            ActionSpec("mark_in", "Mark in (range start)", ("I",), self.set_mark_in, "Mark and label"),
            ActionSpec("mark_out", "Mark out (range end)", ("O",), self.set_mark_out, "Mark and label"),
            ActionSpec("unmark", "Clear the marked range", ("Esc",), self.clear_mark, "Mark and label"),
            ActionSpec("au_next", "Next AU", ("Down",), lambda: self.select_au(self.au_sel + 1), "Mark and label"),
            ActionSpec("au_prev", "Previous AU", ("Up",), lambda: self.select_au(self.au_sel - 1), "Mark and label"),
            ActionSpec("present", "AU present on the range (or frame)", ("P",), self.au_present, "Mark and label"),
            ActionSpec("toggle", "Toggle the AU on the range (or frame)", ("T",), self.au_toggle, "Mark and label"),
            ActionSpec("clear", "Clear the range (or frame) in this mode", ("Del", "Backspace"), self.clear_labels,
                       "Mark and label"),
            ActionSpec("accept", "Accept the machine labels on the range (or video)", ("A",), self.accept_machine,
                       "Mark and label"),
        ]
        for d in range(10):
            text = {0: "AU: absent"}.get(d, f"AU: present, intensity {d}" if d <= 5 else "")
            if 1 <= d <= len(self.expressions):
                text = (text + " · " if text else "") + f"EXPR: {self.expressions[d - 1]}"
            if text:
                specs.append(ActionSpec(f"digit{d}", text, (str(d),), lambda *_, d=d: self.digit(d), "Mark and label"))
        specs += [
            ActionSpec("record", "VA: record while playing (on / off)", ("R",), self.toggle_record, "Valence-arousal"),
            ActionSpec("pad_mode", "VA: 2-D / valence only / arousal only", ("V",), self.cycle_pad_mode,
                       "Valence-arousal"),
            ActionSpec("undo", "Undo", ("Ctrl+Z",), self.undo, "Edit"),
            ActionSpec("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), self.redo, "Edit"),
            ActionSpec("save", "Save (also on switching video and closing)", ("Ctrl+S",), self.save, "Edit"),
            ActionSpec("box", "Show / hide the face box", ("B",), self.toggle_box, "View"),
            ActionSpec("overlays", "Show / hide other annotators and machine labels", ("M",),
                       self.toggle_overlays, "View"),
            ActionSpec("help", "Show / hide this help", ("F1", "?"), self.toggle_help, "View"),
            ActionSpec("quit", "Save and quit", ("Ctrl+Q",), self.close, "View"),
        ]
        self.qactions: dict[str, QAction] = {}
        for s in specs:
            act = QAction(s.text, self)
            act.setShortcuts([QKeySequence(k) for k in s.keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(s.handler)
            self.addAction(act)
            self.qactions[s.name] = act
        return specs

    # ---- videos ---------------------------------------------------------------------------------------
    def _fill_video_list(self) -> None:
        prog = progress_of(self.ws, self.annotator)
        self.video_list.clear()
        for vid in self.videos:
            p = prog.get(vid, {})
            item = QListWidgetItem(self._progress_text(vid, p))
            item.setData(Qt.ItemDataRole.UserRole, vid)
            self.video_list.addItem(item)
        self._mark_current_in_list()

    def _progress_text(self, vid: str, p: dict[str, float]) -> str:
        text = (f"{vid}\n  AU {p.get('au', 0):.0%} · EXPR {p.get('expr', 0):.0%} · VA {p.get('va', 0):.0%}")
        return text + ("  (unsaved)" if p.get("unsaved") else "")

    def _mark_current_in_list(self) -> None:
        for i in range(self.video_list.count()):
            item = self.video_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == self.video_id:
                self.video_list.setCurrentItem(item)
                if self.session is not None:
                    item.setText(self._progress_text(self.video_id, self.session.labels.progress()))

    def open_video(self, vid: str) -> None:
        if vid == self.video_id:
            return
        self.pause()
        if self.session is not None:
            self.save()
        try:
            session = Session(self.ws, vid, self.annotator)
            try:
                source = FrameSource(self.ws.video_path(vid), self.fps)
            except AffcurateError:
                session.close()
                raise
        except AffcurateError as exc:
            if self.session is None:
                raise  # nothing open yet: the command reports it
            self.statusBar().showMessage(f"cannot open {vid}: {exc}")
            self._mark_current_in_list()
            return
        if self.session is not None:
            self.session.close()
        if self.source is not None:
            self.source.close()
        self.video_id, self.session, self.source = vid, session, source
        self.boxes = {}
        if self.ws.faces_path(vid).exists():
            tb = target_boxes(self.ws, vid)
            self.boxes = {int(f): (x1, y1, x2, y2) for f, x1, y1, x2, y2 in tb.itertuples(index=False)}
        self.timeline.set_video(self.n_frames, self.fps)
        self.mark_in = self.mark_out = None
        self.current = 0
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {vid}")
        if self.session.recovered:
            n = self.session.recovered
            self.session.save()
            self.statusBar().showMessage(f"recovered {n} edits of {vid} that had not been saved, and saved them")
        self._rows()
        self._au_counts()
        self.show_frame(0)
        self._mark_current_in_list()

    def other_video(self, step: int) -> None:
        i = self.videos.index(self.video_id) + step
        if 0 <= i < len(self.videos):
            self.open_video(self.videos[i])

    @property
    def n_frames(self) -> int:
        return self.session.n_frames if self.session else 1

    # ---- showing --------------------------------------------------------------------------------------
    def show_frame(self, f: int) -> None:
        f = int(min(max(f, 0), self.n_frames - 1))
        self.current = f
        img = self.source.frame(f)
        t = f / self.fps
        caption = f"frame {f} / {self.n_frames - 1}   {int(t // 60)}:{t % 60:06.3f}"
        self.view.set_frame(f, img, self.boxes.get(f), caption)
        self.timeline.set_current(f)
        self._info()

    def _info(self) -> None:
        parts = [f"<b>{MODE_NAMES[self.mode]}</b>", f"speed {self.speed:g}×"]
        if self.mode == "au":
            j = self.au_sel
            s = self.session.labels
            p, i = int(s.au_p[self.current, j]), s.au_i[self.current, j]
            state = {-1: "—", 0: "absent", 1: "present"}[p] + ("" if np.isnan(i) else f" (intensity {i:g})")
            parts.append(f"<b>{self.aus[j]}</b> here: {state}")
        elif self.mode == "expr":
            k = int(self.session.labels.expr[self.current])
            parts.append("expression here: " + (self.expressions[k] if k >= 0 else "—"))
        else:
            v, a = self.session.labels.va[self.current]
            parts.append("here: " + ("—" if np.isnan(v) and np.isnan(a) else f"V {v:+.2f} A {a:+.2f}")
                         + f" · pad {self.pad.mode}")
            if self.recording:
                parts.append("<span style='color:#d50000'><b>● REC</b></span>")
        if self.mark_in is not None or self.mark_out is not None:
            a, b = self.target_range()
            parts.append(f"marked {a}–{b} ({b - a + 1} frames)")
        if self.session.dirty:
            parts.append("<i>unsaved</i>")
        self.info.setText(" · ".join(parts))

    def _rows(self) -> None:
        """The timeline's rows for the mode: own labels, then others' and machine labels of the same thing."""
        s = self.session.labels
        rows: list[Row] = []
        ov = self.session.overlays if self.show_overlays else []
        if self.mode == "au":
            touched = set(s.touched_aus())
            for j, au in enumerate(self.aus):
                rows.append(Row(au, "presence", s.au_p[:, j], s.au_i[:, j], selected=(j == self.au_sel),
                                baseline=j in touched))
            au = self.aus[self.au_sel]
            for o in ov:
                if o.task == "au" and au in o.values:
                    tag = " (machine)" if o.machine else ""
                    rows.append(Row(f"{o.annotator}{tag} · {au}", "presence", o.values[au],
                                    o.values.get(f"{au}_intensity"), read_only=o.machine, faint=True))
        elif self.mode == "expr":
            rows.append(Row(f"{self.annotator} · EXPR", "classes", s.expr, selected=True))
            for o in ov:
                if o.task == "expr" and "expr" in o.values:
                    tag = " (machine)" if o.machine else ""
                    rows.append(Row(f"{o.annotator}{tag}", "classes", o.values["expr"], read_only=o.machine,
                                    faint=True))
        else:
            rows.append(Row(f"{self.annotator} · V / A", "curves", s.va, selected=True))
            for o in ov:
                if o.task == "va":
                    both = np.stack([o.values.get("valence", np.full(s.n_frames, np.nan)),
                                     o.values.get("arousal", np.full(s.n_frames, np.nan))], axis=1)
                    rows.append(Row(f"{o.annotator}", "curves", both, read_only=o.machine, faint=True))
        self.timeline.coverage = {
            "au": lambda: (s.au_p == 1).any(axis=1),
            "expr": lambda: s.expr >= 0,
            "va": lambda: ~np.isnan(s.va).all(axis=1),
        }[self.mode]
        self.timeline.set_rows(rows)

    # ---- navigation -----------------------------------------------------------------------------------
    def seek(self, f: int) -> None:
        if self.playing:
            self._play_from, self._clock = int(f), QElapsedTimer()
            self._clock.start()
        self.show_frame(f)

    def step(self, d: int) -> None:
        self.seek(self.current + d)

    def focus_jump(self) -> None:
        self.jump.setFocus()
        self.jump.selectAll()

    def _jump_entered(self) -> None:
        if self.jump.text():
            self.seek(int(self.jump.text()))
        self.jump.clear()
        self.view.setFocus()

    def change_speed(self, d: int) -> None:
        i = min(max(SPEEDS.index(self.speed) + d, 0), len(SPEEDS) - 1)
        self.speed = SPEEDS[i]
        if self.playing:
            self._play_from = self.current
            self._clock.start()
        self._info()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.playing:
            return
        if self.current >= self.n_frames - 1:
            self.show_frame(0)
        self.playing = True
        self._play_from = self.current
        self.va_samples = []
        self._clock.start()
        if self.recording:
            self._begin_pass()
        self._play_timer.start()

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self._play_timer.stop()
        self._end_pass()
        self._after_edit() if self.session.dirty else self._info()

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e9
        f = self._play_from + int(elapsed * self.fps * self.speed)
        if self.recording and self.speed <= 1 and f > self.current + 1:
            # a late tick while rating: show the next frame rather than skip one, so none goes unrated;
            # ticks come twice a frame at 1x, so the video catches up with the clock at once
            f = self.current + 1
        last = f >= self.n_frames - 1
        f = min(f, self.n_frames - 1)
        if f != self.current:
            self.show_frame(f)
        if self.recording:
            self._poll_stick()
            self._sample(elapsed)
        if last:
            self.pause()

    # ---- marks ----------------------------------------------------------------------------------------
    def set_mark_in(self) -> None:
        self.mark_in = self.current
        if self.mark_out is not None and self.mark_out < self.mark_in:
            self.mark_out = None
        self._show_mark()

    def set_mark_out(self) -> None:
        self.mark_out = self.current
        if self.mark_in is not None and self.mark_in > self.mark_out:
            self.mark_in = None
        self._show_mark()

    def clear_mark(self) -> None:
        self.mark_in = self.mark_out = None
        self._show_mark()

    def _show_mark(self) -> None:
        self.timeline.mark = self.target_range() if (self.mark_in is not None or self.mark_out is not None) else None
        self.timeline.update()
        self._info()

    def target_range(self) -> tuple[int, int]:
        """The marked range (in to out, inclusive; an open end is the current frame), or the current frame."""
        a = self.mark_in if self.mark_in is not None else self.current
        b = self.mark_out if self.mark_out is not None else self.current
        return (min(a, b), max(a, b))

    def _timeline_seek(self, f: int) -> None:
        self.seek(f)

    def _timeline_marked(self, a: int, b: int) -> None:
        self.mark_in, self.mark_out = a, b
        self._show_mark()

    # ---- editing --------------------------------------------------------------------------------------
    def _edit(self, op: dict) -> None:
        self.session.edit(op)
        self._after_edit()

    def _after_edit(self) -> None:
        self._rows()
        self._info()
        self._au_counts()
        item = self.video_list.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole) == self.video_id:
            item.setText(self._progress_text(self.video_id, self.session.labels.progress()))
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {self.video_id} *")

    def _au_counts(self) -> None:
        """Each AU in the list with how many frames it is marked present on."""
        present = (self.session.labels.au_p == 1).sum(axis=0)
        for j, au in enumerate(self.aus):
            n = int(present[j])
            self.au_list.item(j).setText(f"{au}   {n} frame{'s' if n != 1 else ''}" if n else au)

    def select_au(self, j: int) -> None:
        self.au_sel = j % len(self.aus)
        self.au_list.blockSignals(True)
        self.au_list.setCurrentRow(self.au_sel)
        self.au_list.blockSignals(False)
        if self.mode == "au":
            self._rows()
            self._info()

    def _au_clicked(self, row: int) -> None:
        if row >= 0:
            self.select_au(row)

    def au_present(self) -> None:
        if self.mode == "au":
            a, b = self.target_range()
            self._edit(edits.au_write(self.aus[self.au_sel], a, b, p=1))

    def au_toggle(self) -> None:
        if self.mode == "au":
            a, b = self.target_range()
            self._edit(edits.au_toggle(self.session.labels, self.aus[self.au_sel], a, b))

    def digit(self, d: int) -> None:
        a, b = self.target_range()
        if self.mode == "au":
            op = edits.au_digit(self.aus[self.au_sel], d, a, b)
        else:
            op = edits.expr_digit(d, len(self.expressions), a, b) if self.mode == "expr" else None
        if op is not None:
            self._edit(op)

    def clear_labels(self) -> None:
        a, b = self.target_range()
        if self.mode == "au":
            self._edit(edits.au_absent(self.aus[self.au_sel], a, b))
        elif self.mode == "expr":
            self._edit(edits.expr_write(a, b, None))
        else:
            self._edit(edits.va_clear(a, b))

    def accept_machine(self) -> None:
        """Copy the first machine annotation of this mode onto the range (or the whole video), as own labels."""
        marked = self.mark_in is not None or self.mark_out is not None
        a, b = self.target_range() if marked else (0, self.n_frames - 1)
        o = self.session.accept_machine(self.mode, a, b, au=self.aus[self.au_sel])
        if o is None:
            self.statusBar().showMessage(f"no machine labels for {MODE_NAMES[self.mode]} on this video")
            return
        self._after_edit()
        self.statusBar().showMessage(f"accepted {o.annotator}'s labels on frames {a}-{b}")

    # ---- valence-arousal ------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        self.recording = not self.recording
        self.pad.recording = self.recording
        if self.recording and self.mode != "va":
            self.set_mode("va")
        if self.playing:
            self._begin_pass() if self.recording else self._end_pass()
        self.pad.update()
        self._info()

    def cycle_pad_mode(self) -> None:
        order = ("2d", "valence", "arousal")
        self.pad.mode = order[(order.index(self.pad.mode) + 1) % 3]
        self.pad.set_value(*self.pad.to_value(self.pad.to_point(self.pad.valence, self.pad.arousal)))
        self._info()

    def _poll_stick(self) -> None:
        if self.joystick is not None and self.joystick.poll():
            v, a = self.joystick.value()
            if self.pad.mode == "valence":
                a = 0.0
            elif self.pad.mode == "arousal":
                v = 0.0
            self.pad.set_value(v, a)

    def _begin_pass(self) -> None:
        self.session.begin()
        self.va_samples = []
        self._pass_start = self._clock.nsecsElapsed() / 1e9 if self._clock.isValid() else 0.0

    def _end_pass(self) -> None:
        if self.session is not None:
            self.session.end()

    def _sample(self, elapsed: float) -> None:
        v, a = self.pad.valence, self.pad.arousal
        op = edits.va_sample(self.current, v, a, self.pad.mode)
        self.session.edit(op)
        self.va_samples.append((elapsed, self.current))
        self.pad.note_sample(v, a)
        self.timeline.update()

    # ---- undo, save, view -----------------------------------------------------------------------------
    def undo(self) -> None:
        if self.session.undo():
            self._after_edit()

    def redo(self) -> None:
        if self.session.redo():
            self._after_edit()

    def save(self) -> None:
        if self.session is None or not self.session.dirty:
            return
        try:
            paths = self.session.save()
        except OSError as exc:
            self.statusBar().showMessage(f"could not save ({exc.strerror}): your edits are safe in the journal "
                                         f"{self.session.journal.path}")
            return
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {self.video_id}")
        self.statusBar().showMessage(f"saved {len(paths)} tables of {self.video_id}")
        self._mark_current_in_list()
        self._info()

    def _sync(self) -> None:
        if self.session is not None:
            self.session.journal.sync()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.panels.setCurrentIndex(MODES.index(mode))
        self._rows()
        self._info()

    def toggle_box(self) -> None:
        self.view.show_box = not self.view.show_box
        self.view.update()

    def toggle_overlays(self) -> None:
        self.show_overlays = not self.show_overlays
        self._rows()

    def toggle_help(self) -> None:
        if self.help.isVisible():
            self.help.hide()
        else:
            self.help.setGeometry(self._centre.rect())
            self.help.raise_()
            self.help.show()

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        if self.help.isVisible():
            self.help.setGeometry(self._centre.rect())

    def closeEvent(self, e) -> None:  # noqa: N802
        self.pause()
        if self.session is not None:
            self.save()
            self.session.close()
        if self.source is not None:
            self.source.close()
        self.view.release()
        if self.joystick is not None:
            self._stick_timer.stop()
            self.joystick.close()
        super().closeEvent(e)
