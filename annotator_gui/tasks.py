"""The desk's three modes (AUs, expressions, valence-arousal) as task objects with one small interface.

A task has a panel beside the video, says what its labels are on the frame on screen, gives the timeline its
rows, and turns the clear, accept and digit keys into edits through the rules of ``edits``; the window only
asks the current task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from html import escape
from typing import ClassVar

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from annotator_gui import edits
from annotator_gui.edits import Edit
from annotator_gui.joystick import Joystick
from annotator_gui.labels import Labels, Overlay
from annotator_gui.pad import VAPad
from annotator_gui.playback import TICK_MS
from annotator_gui.rows import ABSENT, Row, intensity_colour
from annotator_gui.scheme import Scheme
from annotator_gui.session import Session


class Task(ABC):
    """One labelling mode of the desk."""

    name: ClassVar[str]
    """The task's name in tables and on the command line: au, expr or va."""
    title: ClassVar[str]
    """How the desk names the mode to the annotator."""
    panel: QWidget
    """What the mode shows beside the video."""

    @abstractmethod
    def status(self, labels: Labels, frame: int) -> list[str]:
        """What the info bar says of this mode's labels on ``frame``."""

    @abstractmethod
    def rows(self, labels: Labels, overlays: list[Overlay], annotator: str) -> list[Row]:
        """The timeline's rows: own labels, then others' and machine labels of the same thing."""

    @abstractmethod
    def coverage(self, labels: Labels) -> np.ndarray:
        """Frames that carry labels of the mode, for the overview strip."""

    @abstractmethod
    def clear(self, a: int, b: int) -> Edit:
        """The edit of the clear key on frames a-b."""

    def label_key(self, key: str, a: int, b: int) -> Edit | None:
        """The edit of label key ``key`` (a digit, or a class's key) on frames a-b, or None where the key means
        nothing in this mode."""
        return None

    def accept(self, session: Session, a: int, b: int) -> Overlay | None:
        """Take the first machine labels of this mode on frames a-b as own labels; the ones taken, or None."""
        return session.accept_machine(self.name, a, b)

    def _theirs(self, overlays: list[Overlay]) -> list[Overlay]:
        return [o for o in overlays if o.task == self.name]


def _who(o: Overlay) -> str:
    return f"{o.annotator}{' (machine)' if o.machine else ''}"


def _panel(*widgets: QWidget | tuple[QWidget, int]) -> tuple[QWidget, QVBoxLayout]:
    """A panel of widgets one under another; a (widget, stretch) pair takes the room left."""
    panel = QWidget()
    lay = QVBoxLayout(panel)
    for w in widgets:
        if isinstance(w, tuple):
            lay.addWidget(*w)
        else:
            lay.addWidget(w)
    return panel, lay


class AuTask(Task):
    """Action units: one AU chosen at a time, present or absent on a range, with an intensity of 1-5."""

    name, title = "au", "AU"

    def __init__(self, scheme: Scheme, on_choose: Callable[[int], None]):
        self.scheme = scheme
        self.aus = scheme.aus
        self.selected = 0
        self.au_list = QListWidget()
        self.au_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for au in self.aus:
            self.au_list.addItem(scheme.au_title(au))
        self.au_list.currentRowChanged.connect(lambda row: on_choose(row) if row >= 0 else None)
        self.legend = QLabel(intensity_legend())
        self.legend.setWordWrap(True)
        self.panel, _ = _panel(QLabel("<b>Action Units</b> (↑/↓ choose)"), (self.au_list, 1), self.legend,
                               QLabel("I / O mark in / out, or drag on the timeline<br>P present · 1-5 intensity · "
                                      "0 absent<br>T toggle · Del clear · A accept machine labels"))

    @property
    def au(self) -> str:
        return self.aus[self.selected]

    def choose(self, j: int) -> None:
        self.selected = j % len(self.aus)
        self.au_list.blockSignals(True)
        self.au_list.setCurrentRow(self.selected)
        self.au_list.blockSignals(False)

    def status(self, labels: Labels, frame: int) -> list[str]:
        j = self.selected
        p, i = int(labels.au_p[frame, j]), labels.au_i[frame, j]
        state = {-1: "—", 0: "absent", 1: "present"}[p] + ("" if np.isnan(i) else f" (intensity {i:g})")
        name = self.scheme.au_names.get(self.au, "")
        return [f"<b>{self.au}</b>{f' {name}' if name else ''} here: {state}"]

    def rows(self, labels: Labels, overlays: list[Overlay], annotator: str) -> list[Row]:
        touched = set(labels.touched_aus())
        rows = [Row(au, "presence", labels.au_p[:, j], labels.au_i[:, j], selected=(j == self.selected),
                    baseline=j in touched, detail=self.scheme.au_names.get(au, "")) for j, au in enumerate(self.aus)]
        au = self.au
        rows += [Row(f"{_who(o)} · {au}", "presence", o.values[au], o.values.get(f"{au}_intensity"),
                     read_only=o.machine, faint=True) for o in self._theirs(overlays) if au in o.values]
        return rows

    def coverage(self, labels: Labels) -> np.ndarray:
        return (labels.au_p == 1).any(axis=1)

    def clear(self, a: int, b: int) -> Edit:
        return edits.au_absent(self.au, a, b)

    def label_key(self, key: str, a: int, b: int) -> Edit | None:
        return edits.au_digit(self.au, int(key), a, b) if key.isdigit() else None

    def accept(self, session: Session, a: int, b: int) -> Overlay | None:
        return session.accept_machine(self.name, a, b, au=self.au)

    def present(self, a: int, b: int) -> Edit:
        return edits.au_write(self.au, a, b, p=1)

    def toggle(self, labels: Labels, a: int, b: int) -> Edit:
        return edits.au_toggle(labels, self.au, a, b)

    def show_counts(self, labels: Labels) -> None:
        """Each AU in the list with how many frames it is marked present on."""
        present = (labels.au_p == 1).sum(axis=0)
        for j, au in enumerate(self.aus):
            n = int(present[j])
            title = self.scheme.au_title(au)
            self.au_list.item(j).setText(f"{title}   · {n} frame{'s' if n != 1 else ''}" if n else title)


class ExprTask(Task):
    """Expressions: one class per frame, chosen by its key."""

    name, title = "expr", "EXPR"

    def __init__(self, scheme: Scheme):
        self.scheme = scheme
        self.expressions = scheme.expressions
        self.legend = [QLabel(f"<span style='background:{scheme.colour(k)}'>&nbsp;&nbsp;&nbsp;</span>&nbsp;"
                              f"<b>{scheme.keys[k]}</b>&nbsp;{escape(name)}") for k, name in enumerate(self.expressions)]
        """One line per class: its colour, its key, its name."""
        self.panel, lay = _panel(QLabel("<b>Expressions</b> (one per frame)"), *self.legend,
                                 QLabel("keys label the frame, or the marked range<br>Del removes"))
        lay.addStretch(1)

    def status(self, labels: Labels, frame: int) -> list[str]:
        k = int(labels.expr[frame])
        return ["expression here: " + (self.expressions[k] if k >= 0 else "—")]

    def rows(self, labels: Labels, overlays: list[Overlay], annotator: str) -> list[Row]:
        colours = self.scheme.colours
        return [Row(f"{annotator} · EXPR", "classes", labels.expr, selected=True, colours=colours)] + [
            Row(_who(o), "classes", o.values["expr"], read_only=o.machine, faint=True, colours=colours)
            for o in self._theirs(overlays) if "expr" in o.values]

    def coverage(self, labels: Labels) -> np.ndarray:
        return labels.expr >= 0

    def clear(self, a: int, b: int) -> Edit:
        return edits.expr_write(a, b, None)

    def label_key(self, key: str, a: int, b: int) -> Edit | None:
        k = self.scheme.expression_of(key)
        return None if k is None else edits.expr_write(a, b, k)


class VaTask(Task):
    """Continuous valence-arousal: the pad (or a joystick) rated while the video plays, one sample a tick."""

    name, title = "va", "VA"
    PAD_MODES = ("2d", "valence", "arousal")

    def __init__(self, scheme: Scheme, joystick: Joystick | None):
        self.scheme = scheme
        head = QLabel("<b>Valence-arousal</b>: R arms recording, Space plays, V switches 2-D / valence only / "
                      "arousal only. On the timeline <span style='color:#1e88e5'>valence</span> and "
                      "<span style='color:#e53935'>arousal</span>; others' traces dashed.")
        head.setWordWrap(True)
        self.pad = VAPad(scheme)
        self.panel, _ = _panel(head, (self.pad, 1))
        self.recording = False
        self.samples: list[tuple[float, int]] = []
        """(seconds since playback started, frame) of every sample of the current pass."""
        self.joystick = joystick
        self._stick_timer = QTimer(self.panel)
        self._stick_timer.setInterval(TICK_MS)
        self._stick_timer.timeout.connect(self.poll_stick)
        if joystick is not None:
            self._stick_timer.start()

    def status(self, labels: Labels, frame: int) -> list[str]:
        v, a = labels.va[frame]
        text = self.scheme.va_text
        parts = ["here: " + "V {} A {}".format(*("—" if np.isnan(x) else text(x) for x in (v, a)))
                 + f" · pad {self.pad.mode}"]
        if self.recording:
            parts.append("<span style='color:#d50000'><b>● REC</b></span>")
        return parts

    def rows(self, labels: Labels, overlays: list[Overlay], annotator: str) -> list[Row]:
        none = np.full(labels.n_frames, np.nan)
        scale = self.scheme.va_scale()
        return [Row(f"{annotator} · V / A", "curves", labels.va, selected=True, scale=scale)] + [
            Row(f"{o.annotator}", "curves", np.stack([o.values.get("valence", none), o.values.get("arousal", none)],
                                                     axis=1), read_only=o.machine, faint=True, scale=scale)
            for o in self._theirs(overlays)]

    def coverage(self, labels: Labels) -> np.ndarray:
        return ~np.isnan(labels.va).all(axis=1)

    def clear(self, a: int, b: int) -> Edit:
        return edits.va_clear(a, b)

    # ---- recording ------------------------------------------------------------------------------------
    def set_recording(self, on: bool) -> None:
        self.recording = self.pad.recording = on
        self.pad.update()

    def begin(self, session: Session, frame: int, elapsed: float) -> None:
        """A pass starts on ``frame``: its samples undo as one edit. The frame is rated at once, from where the
        pointer is now (the first tick may come late, and the pad may not have seen the pointer move yet)."""
        session.begin()
        self.samples = []
        self.pad.follow_pointer()
        self.sample(session, frame, elapsed)

    def end(self, session: Session | None) -> None:
        if session is not None:
            session.end()

    def sample(self, session: Session, frame: int, elapsed: float) -> None:
        """The pad's position now, on the frame on screen."""
        v, a = self.pad.valence, self.pad.arousal
        session.edit(edits.va_sample(frame, v, a, self.pad.mode))
        self.samples.append((elapsed, frame))
        self.pad.note_sample(v, a)

    def new_video(self) -> None:
        """Another video is open: the trail and samples of the last one's pass are not its own."""
        self.samples = []
        self.pad.trail.clear()
        self.pad.update()

    def cycle_pad_mode(self) -> None:
        order = self.PAD_MODES
        self.pad.mode = order[(order.index(self.pad.mode) + 1) % 3]
        self.pad.set_value(*self.pad.to_value(self.pad.to_point(self.pad.valence, self.pad.arousal)))

    def poll_stick(self) -> None:
        if self.joystick is not None and self.joystick.poll():
            v, a = self.joystick.value()
            if self.pad.mode == "valence":
                a = 0.0
            elif self.pad.mode == "arousal":
                v = 0.0
            self.pad.set_value(v, a)

    def close(self) -> None:
        if self.joystick is not None:
            self._stick_timer.stop()
            self.joystick.close()


def intensity_legend() -> str:
    """What the shades of an AU row mean: intensity 1 to 5, present without one, absent."""
    def swatch(c) -> str:
        return f"<span style='background:{c.name()}'>&nbsp;&nbsp;&nbsp;</span>"

    ramp = " ".join(f"{swatch(intensity_colour(k))}&nbsp;{k}" for k in range(1, 6))
    return (f"<small>intensity (1 trace … 5 maximum): {ramp} &nbsp;·&nbsp; {swatch(intensity_colour(None))}"
            f"&nbsp;present, no intensity &nbsp;·&nbsp; <span style='color:{ABSENT.name()}'>▬</span>&nbsp;absent"
            f"<br>the intensity is written on a range wide enough for it</small>")
