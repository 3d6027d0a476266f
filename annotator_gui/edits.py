"""The desk's labelling rules: which frames a key acts on, and the absolute edit each key writes.

No Qt here, so every rule can be used and tested without a screen; the desk's modes only choose which rule a
key runs and hand the edit to the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annotator_gui.labels import Labels, Overlay, json_values

Edit = dict[str, Any]


@dataclass
class Marks:
    """The marked range: a mark in and a mark out, either of which may be open."""

    mark_in: int | None = None
    mark_out: int | None = None

    @property
    def marked(self) -> bool:
        return self.mark_in is not None or self.mark_out is not None

    def set_in(self, frame: int) -> None:
        self.mark_in = frame
        if self.mark_out is not None and self.mark_out < frame:
            self.mark_out = None

    def set_out(self, frame: int) -> None:
        self.mark_out = frame
        if self.mark_in is not None and self.mark_in > frame:
            self.mark_in = None

    def clear(self) -> None:
        self.mark_in = self.mark_out = None

    def target(self, current: int) -> tuple[int, int]:
        """The marked range (in to out, inclusive; an open end is the current frame), or the current frame."""
        a = self.mark_in if self.mark_in is not None else current
        b = self.mark_out if self.mark_out is not None else current
        return (min(a, b), max(a, b))


# ---- AUs ------------------------------------------------------------------------------------------------
def au_write(au: str, a: int, b: int, **values: Any) -> Edit:
    """Presence ``p`` (and intensity ``i``) of one AU on frames a-b."""
    return {"k": "au", "au": au, "s": a, "e": b, **values}


def au_absent(au: str, a: int, b: int) -> Edit:
    return au_write(au, a, b, p=0, i=None)


def au_toggle(labels: Labels, au: str, a: int, b: int) -> Edit:
    """Absent where the AU is present on every frame of the range, else present."""
    if (labels.au_p[a:b + 1, labels.au_index(au)] == 1).all():
        return au_absent(au, a, b)
    return au_write(au, a, b, p=1)


def au_digit(au: str, d: int, a: int, b: int) -> Edit | None:
    """0 absent, 1-5 present with that intensity; other digits mean nothing for AUs."""
    if d > 5:
        return None
    return au_write(au, a, b, p=1, i=d) if d else au_absent(au, a, b)


# ---- expressions ----------------------------------------------------------------------------------------
def expr_write(a: int, b: int, v: int | None) -> Edit:
    return {"k": "expr", "s": a, "e": b, "v": v}



# ---- valence-arousal ------------------------------------------------------------------------------------
def va_clear(a: int, b: int) -> Edit:
    return {"k": "va", "s": a, "e": b, "v": None, "a": None}


def va_sample(frame: int, valence: float, arousal: float, pad_mode: str) -> Edit:
    """One pad sample on the frame on screen; a one-dimension pass leaves the other dimension as it was."""
    op: Edit = {"k": "va", "s": frame, "e": frame}
    if pad_mode in ("2d", "valence"):
        op["v"] = round(valence, 4)
    if pad_mode in ("2d", "arousal"):
        op["a"] = round(arousal, 4)
    return op


# ---- accepting machine labels ---------------------------------------------------------------------------
def machine_edit(o: Overlay, labels: Labels, a: int, b: int, au: str | None = None) -> Edit | None:
    """The edit that copies machine labels ``o`` onto frames a-b as own labels (for AUs, those of ``au``); where
    the machine said nothing, own labels stay. None when ``o`` has nothing of what is asked."""
    sl = slice(a, b + 1)

    def theirs_else_mine(theirs: np.ndarray, mine: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(theirs[sl]), mine[sl].astype(float), theirs[sl])

    op: Edit = {"s": a, "e": b}
    if o.task == "au":
        if au not in o.values:
            return None
        j = labels.au_index(au)
        op.update(k="au", au=au, p=json_values(theirs_else_mine(o.values[au], labels.au_p[:, j]).astype(int)))
        if f"{au}_intensity" in o.values:
            inten = np.clip(np.round(o.values[f"{au}_intensity"], 2), 0, 5)
            op["i"] = json_values(theirs_else_mine(inten, labels.au_i[:, j]))
    elif o.task == "expr":
        if "expr" not in o.values:
            return None
        op.update(k="expr", v=json_values(theirs_else_mine(o.values["expr"], labels.expr).astype(int)))
    else:
        op["k"] = "va"
        for key, col, c in (("v", 0, "valence"), ("a", 1, "arousal")):
            if c in o.values:
                op[key] = json_values(theirs_else_mine(o.values[c], labels.va[:, col]))
    return op
