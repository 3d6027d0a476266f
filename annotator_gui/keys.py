"""Every action of the desk with its keys, installed as window shortcuts, and the help overlay that lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from annotator_gui.scheme import INTENSITY_KEYS

if TYPE_CHECKING:
    from annotator_gui.window import Desk

LABEL = "label_"
"""The name of a label key's action: ``label_`` and its key (each means something in AU mode, EXPR mode or both)."""


@dataclass
class ActionSpec:
    name: str
    text: str
    keys: tuple[str, ...]
    handler: Callable[[], None]
    group: str


class HelpOverlay(QWidget):
    """Every action and its keys, over ``cover`` (a child of ``window``); F1 or ? shows and hides it.

    It is a child of the window, not of ``cover``: a splitter would take it for one more pane."""

    def __init__(self, window: QWidget, cover: QWidget, specs: list[ActionSpec]):
        super().__init__(window)
        self.cover = cover
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(20, 20, 20, 225))
        self.setPalette(pal)
        groups: dict[str, list[ActionSpec]] = {}
        digits = [sp for sp in specs if sp.name.startswith(LABEL)]
        for sp in specs:
            if not sp.name.startswith(LABEL):
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
        cells["Digits"] = ("<h3 style='color:#90caf9'>Label keys</h3><table><tr><td></td><td style='padding-left:10px'>"
                           "<i>AU mode</i></td><td style='padding-left:10px'><i>EXPR mode</i></td></tr>"
                           + digit_rows + "</table>")
        columns = [["Navigate", "Modes"], ["Mark and label", "Digits"], ["Valence-arousal", "Queue", "Edit", "View"]]
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
        cover.installEventFilter(self)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.setGeometry(self.cover.geometry())
            self.raise_()
            self.show()

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802
        # over the whole of what it covers, as that is moved or resized
        if e.type() in (QEvent.Type.Resize, QEvent.Type.Move) and self.isVisible():
            self.setGeometry(self.cover.geometry())
        return False


def _split_digit(text: str) -> tuple[str, str]:
    """'AU: … · EXPR: …' into its AU part and its EXPR part (either may be missing)."""
    au = next((p for p in text.split(" · ") if p.startswith("AU")), "")
    expr = next((p for p in text.split(" · ") if p.startswith("EXPR")), "")
    return au, expr


def desk_actions(desk: Desk) -> list[ActionSpec]:
    """The desk's actions in the order the help lists them; a class's key that another action has already is an
    error naming the settings line."""
    specs = [
        ActionSpec("play", "Play / pause (with R armed: a countdown, then the pass; Space again cancels it)",
                   ("Space",), desk.toggle_play, "Navigate"),
        ActionSpec("play_range", "Play the marked range (in to out) and stop", ("Shift+Space",), desk.play_range,
                   "Navigate"),
        ActionSpec("next", "Next frame", ("Right",), lambda: desk.step(1), "Navigate"),
        ActionSpec("prev", "Previous frame", ("Left",), lambda: desk.step(-1), "Navigate"),
        ActionSpec("next_s", "Forward 1 s", ("Shift+Right",), lambda: desk.step(int(desk.fps)), "Navigate"),
        ActionSpec("prev_s", "Back 1 s", ("Shift+Left",), lambda: desk.step(-int(desk.fps)), "Navigate"),
        ActionSpec("first", "First frame", ("Home",), lambda: desk.seek(0), "Navigate"),
        ActionSpec("last", "Last frame", ("End",), lambda: desk.seek(desk.n_frames - 1), "Navigate"),
        ActionSpec("jump", "Go to frame…", ("Ctrl+G",), desk.focus_jump, "Navigate"),
        ActionSpec("slower", "Slower (0.25× … 2×)", ("[",), lambda: desk.transport.change_speed(-1),
                   "Navigate"),
        ActionSpec("faster", "Faster", ("]",), lambda: desk.transport.change_speed(1), "Navigate"),
        ActionSpec("sound", "Sound on / off (heard at 1×, muted at other speeds)", ("S",),
                   lambda: desk.transport.toggle_sound(), "Navigate"),
        ActionSpec("zoom_in", "Zoom the timeline in", ("=", "+"), lambda: desk.timeline.zoom(0.5), "Navigate"),
        ActionSpec("zoom_out", "Zoom the timeline out", ("-",), lambda: desk.timeline.zoom(2.0), "Navigate"),
        ActionSpec("next_video", "Next video", ("PgDown",), lambda: desk.other_video(1), "Navigate"),
        ActionSpec("prev_video", "Previous video", ("PgUp",), lambda: desk.other_video(-1), "Navigate"),
        ActionSpec("mode_au", "AU mode", ("F2",), lambda: desk.set_mode("au"), "Modes"),
        ActionSpec("mode_expr", "Expression mode", ("F3",), lambda: desk.set_mode("expr"), "Modes"),
        ActionSpec("mode_va", "Valence-arousal mode", ("F4",), lambda: desk.set_mode("va"), "Modes"),
        ActionSpec("mark_in", "Mark in (range start)", ("I",), desk.set_mark_in, "Mark and label"),
        ActionSpec("mark_out", "Mark out (range end)", ("O",), desk.set_mark_out, "Mark and label"),
        ActionSpec("unmark", "Clear the marked range", ("Esc",), desk.clear_mark, "Mark and label"),
        ActionSpec("au_next", "Next AU", ("Down",), lambda: desk.select_au(desk.au.selected + 1), "Mark and label"),
        ActionSpec("au_prev", "Previous AU", ("Up",), lambda: desk.select_au(desk.au.selected - 1), "Mark and label"),
        ActionSpec("present", "AU present on the range (or frame)", ("P",), desk.au_present, "Mark and label"),
        ActionSpec("toggle", "Toggle the AU on the range (or frame)", ("T",), desk.au_toggle, "Mark and label"),
        ActionSpec("clear", "Clear the range (or frame) in this mode", ("Del", "Backspace"), desk.clear_labels,
                   "Mark and label"),
        ActionSpec("accept", "Accept the machine labels on the range (or video)", ("A",), desk.accept_machine,
                   "Mark and label"),
    ]
    scheme = desk.scheme
    labels = []
    for k in scheme.label_keys():
        text = {"0": "AU: absent"}.get(k, f"AU: present, intensity {k}" if k in INTENSITY_KEYS else "")
        cls = scheme.expression_of(k)
        if cls is not None:
            text = (text + " · " if text else "") + f"EXPR: {escape(scheme.expressions[cls])}"
        labels.append(ActionSpec(f"{LABEL}{k}", text, (k,), lambda *_, k=k: desk.label_key(k), "Mark and label"))
    specs += labels
    specs += [
        ActionSpec("record", "VA: arm / disarm recording (while playing: a countdown, then the pass; R again "
                   "cancels it)", ("R",), desk.toggle_record, "Valence-arousal"),
        ActionSpec("pad_mode", "VA: 2-D / valence only / arousal only", ("V",), desk.cycle_pad_mode,
                   "Valence-arousal"),
        ActionSpec("queue_next", "Queue: this item reviewed, next item", ("N",), desk.next_item, "Queue"),
        ActionSpec("queue_prev", "Queue: previous item", ("Shift+N",), desk.previous_item, "Queue"),
        ActionSpec("undo", "Undo", ("Ctrl+Z",), desk.undo, "Edit"),
        ActionSpec("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), desk.redo, "Edit"),
        ActionSpec("save", "Save (also on switching video and closing)", ("Ctrl+S",), desk.save, "Edit"),
        ActionSpec("box", "Show / hide the face box", ("B",), desk.toggle_box, "View"),
        ActionSpec("overlays", "Show / hide other annotators and machine labels", ("M",),
                   desk.toggle_overlays, "View"),
        ActionSpec("raters", "Inter-rater view: the other annotators' rows or traces and the agreement", ("F5",),
                   lambda: desk.raters.toggle(), "View"),
        ActionSpec("raters_next", "Next segment of disagreement (marked, as in the inter-rater view)", ("D",),
                   lambda: desk.raters.next_disagreement(), "View"),
        ActionSpec("help", "Show / hide this help", ("F1", "?"), lambda: desk.help.toggle(), "View"),
        ActionSpec("quit", "Save and quit", ("Ctrl+Q",), desk.close, "View"),
    ]
    taken = {QKeySequence(k).toString(): sp.text for sp in specs if sp not in labels for k in sp.keys}
    for k in scheme.keys:
        if QKeySequence(k).toString() in taken:
            raise scheme.key_error(k, taken[QKeySequence(k).toString()])
    return specs


def install(window: QWidget, specs: list[ActionSpec]) -> dict[str, QAction]:
    """Each action as a window shortcut of ``window``, by name."""
    actions: dict[str, QAction] = {}
    for s in specs:
        act = QAction(s.text, window)
        act.setShortcuts([QKeySequence(k) for k in s.keys])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(s.handler)
        window.addAction(act)
        actions[s.name] = act
    return actions
