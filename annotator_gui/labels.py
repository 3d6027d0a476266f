"""One video's labels on the 30 fps grid as arrays, the absolute writes that edit them, and the tables they save.

Every edit is an *absolute* write of a range of frames (``{"k": "au", "au": "AU12", "s": 10, "e": 40, "p": 1,
"i": 3}``): applying it twice gives the same state, and undo is just another write of the values that were there
before. No Qt here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.labels.model import MACHINE_SOURCES, Annotation

DESK_SOURCE = "desk"
"""Sources whose labels come from a model, shown read-only to be accepted or corrected."""
VA_FILL_GAP = 3
"""On save, holes of up to this many frames between two VA samples are interpolated (2x playback shows every
other frame, so its samples are two frames apart)."""


def json_values(values: np.ndarray) -> Any:
    """An edit's values as JSON: one value when they are all equal, else the list; NaN becomes null."""
    vals = [None if (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]
    return vals[0] if len(vals) and all(v == vals[0] for v in vals) else vals


def _expand(value: Any, n: int, missing: float) -> np.ndarray:
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"expected {n} values, got {len(value)}")
        return np.array([missing if v is None else v for v in value], dtype=np.float64)
    return np.full(n, missing if value is None else value, dtype=np.float64)


@dataclass
class Labels:
    """The labels of one video on the 30 fps grid, as arrays: what the desk edits."""

    n_frames: int
    aus: tuple[str, ...]
    n_classes: int
    au_p: np.ndarray = field(init=False)
    """frames x AUs: -1 not labelled, 0 absent, 1 present."""
    au_i: np.ndarray = field(init=False)
    """frames x AUs: intensity 0-5, NaN when not given."""
    expr: np.ndarray = field(init=False)
    """frames: class index, -1 not labelled."""
    va: np.ndarray = field(init=False)
    """frames x 2 (valence, arousal), NaN not rated."""

    def __post_init__(self) -> None:
        n = self.n_frames
        self.au_p = np.full((n, len(self.aus)), -1, np.int8)
        self.au_i = np.full((n, len(self.aus)), np.nan, np.float32)
        self.expr = np.full(n, -1, np.int8)
        self.va = np.full((n, 2), np.nan, np.float32)

    def au_index(self, au: str) -> int:
        try:
            return self.aus.index(au)
        except ValueError:
            raise AffcurateError(f"unknown AU {au!r}: the workspace's AUs are {', '.join(self.aus)}") from None

    # ---- edits --------------------------------------------------------------------------------------
    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        """Apply one absolute write and return the write that undoes it."""
        s, e = int(op["s"]), int(op["e"])
        if not (0 <= s <= e < self.n_frames):
            raise ValueError(f"frames {s}-{e} are outside the video (0-{self.n_frames - 1})")
        n = e - s + 1
        sl = slice(s, e + 1)
        k = op["k"]
        if k == "au":
            j = self.au_index(op["au"])
            inv = {"k": "au", "au": op["au"], "s": s, "e": e}
            if "p" in op:
                inv["p"] = json_values(self.au_p[sl, j].astype(int))
                self.au_p[sl, j] = _expand(op["p"], n, -1).astype(np.int8)
            if "i" in op:
                inv["i"] = json_values(self.au_i[sl, j].astype(float))
                self.au_i[sl, j] = _expand(op["i"], n, np.nan)
            return inv
        if k == "expr":
            inv = {"k": "expr", "s": s, "e": e, "v": json_values(self.expr[sl].astype(int))}
            v = _expand(op["v"], n, -1)
            if ((v < -1) | (v >= self.n_classes)).any():
                raise ValueError(f"expression class outside 0-{self.n_classes - 1}")
            self.expr[sl] = v.astype(np.int8)
            return inv
        if k == "va":
            inv = {"k": "va", "s": s, "e": e}
            for key, col in (("v", 0), ("a", 1)):
                if key in op:
                    inv[key] = json_values(self.va[sl, col].astype(float))
                    self.va[sl, col] = np.clip(_expand(op[key], n, np.nan), -1, 1)
            return inv
        raise ValueError(f"unknown edit kind {k!r}")

    # ---- what a user sees ---------------------------------------------------------------------------
    def touched_aus(self) -> list[int]:
        return np.flatnonzero((self.au_p >= 0).any(axis=0)).tolist()

    def progress(self) -> dict[str, float]:
        """Fraction done per task: AUs looked at, frames with an expression, frames with a VA rating."""
        n = max(self.n_frames, 1)
        return {"au": len(self.touched_aus()) / max(len(self.aus), 1),
                "expr": float((self.expr >= 0).sum()) / n,
                "va": float((~np.isnan(self.va).all(axis=1)).sum()) / n}

    # ---- to and from the annotation tables ----------------------------------------------------------
    def load(self, ann: Annotation, values: dict[str, np.ndarray]) -> None:
        """Take the values of one of the annotator's own tables, already on the grid."""
        if ann.task == "au":
            for j, au in enumerate(self.aus):
                if au in values:
                    v = values[au]
                    self.au_p[:, j] = np.where(np.isnan(v), -1, v).astype(np.int8)
                if f"{au}_intensity" in values:
                    self.au_i[:, j] = values[f"{au}_intensity"]
        elif ann.task == "expr" and "expr" in values:
            v = values["expr"]
            self.expr[:] = np.where(np.isnan(v), -1, v).astype(np.int8)
        elif ann.task == "va":
            for c, col in (("valence", 0), ("arousal", 1)):
                if c in values:
                    self.va[:, col] = values[c]

    def tables(self, video_id: str, annotator: str) -> list[Annotation]:
        """The annotation tables of what has been labelled, in the form ``affcurate import`` writes."""
        out = []
        frames = np.arange(self.n_frames, dtype=np.int64)
        touched = self.touched_aus()
        if touched:
            data = {"frame": frames}
            for j in touched:
                # an AU that was looked at is labelled on every frame: the frames not marked are absent
                data[self.aus[j]] = pd.array(np.where(self.au_p[:, j] < 0, 0, self.au_p[:, j]), dtype="Int8")
            for j in touched:
                if not np.isnan(self.au_i[:, j]).all():
                    data[f"{self.aus[j]}_intensity"] = self.au_i[:, j].astype(np.float32)
            out.append(Annotation(video_id, "au", annotator, pd.DataFrame(data), source=DESK_SOURCE,
                                  clock="grid", time_base="frame", shape="dense", complete=True))
        has = self.expr >= 0
        if has.any():
            out.append(Annotation(video_id, "expr", annotator,
                                  pd.DataFrame({"frame": frames[has],
                                                "expr": pd.array(self.expr[has], dtype="Int8")}),
                                  source=DESK_SOURCE, clock="grid", time_base="frame", shape="dense",
                                  complete=bool(has.all())))
        va = fill_short_gaps(self.va, VA_FILL_GAP)
        has = ~np.isnan(va).all(axis=1)
        if has.any():
            out.append(Annotation(video_id, "va", annotator,
                                  pd.DataFrame({"frame": frames[has], "valence": va[has, 0].astype(np.float64),
                                                "arousal": va[has, 1].astype(np.float64)}),
                                  source=DESK_SOURCE, clock="grid", time_base="frame", shape="dense"))
        return out


@dataclass
class Overlay:
    """Someone else's labels of this video on the grid, for review."""

    annotator: str
    task: str
    source: str
    values: dict[str, np.ndarray]

    @property
    def machine(self) -> bool:
        return self.source in MACHINE_SOURCES


def fill_short_gaps(va: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly fill holes of at most ``max_gap`` frames between two rated frames, per column."""
    out = va.astype(np.float64).copy()
    frames = np.arange(len(out))
    for c in range(out.shape[1]):
        v = out[:, c]
        ok = np.flatnonzero(~np.isnan(v))
        if len(ok) < 2:
            continue
        # for each frame, the rated frames around it; a hole is short when they are close
        after = np.clip(np.searchsorted(ok, frames), 1, len(ok) - 1)
        short = np.isnan(v) & (frames > ok[0]) & (frames < ok[-1]) & (ok[after] - ok[after - 1] <= max_gap + 1)
        v[short] = np.interp(frames[short], ok, v[ok])
    return out
