"""The annotation scheme the desk shows, read once from the workspace settings (``[labels]`` and ``[desk]``).

What the numbers and keys mean to the annotator: the VA scale and the words around the disc, the expression
classes with their colours and keys, the AUs with their FACS names, the countdown before a VA pass. The stored
labels do not depend on it (valence and arousal stay in [-1, 1]). No Qt here.

Left at their defaults, ``expression_colours`` and ``expression_keys`` follow ``labels.expressions`` whatever
its length (the default palette, then evenly spaced hues; the digits 1-9); lists a user wrote must give one
colour and one key per class.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

from affcurate.errors import InputError
from affcurate.settings import DeskSettings, read_text, toml_line
from affcurate.workspace import Workspace

_DEFAULT = DeskSettings()
INTENSITY_KEYS = ("0", "1", "2", "3", "4", "5")
"""AU mode: 0 absent, 1-5 present with that intensity (FACS A-E)."""


def _palette(n: int) -> tuple[str, ...]:
    """The default colours for ``n`` classes: the default palette, then evenly spaced hues."""
    extra = [colorsys.hsv_to_rgb((k * 0.618) % 1.0, 0.65, 0.8) for k in range(max(n - len(_DEFAULT.expression_colours), 0))]
    more = tuple("#" + "".join(f"{round(c * 255):02x}" for c in rgb) for rgb in extra)
    return (_DEFAULT.expression_colours + more)[:n]


@dataclass(frozen=True)
class Scheme:
    aus: tuple[str, ...]
    au_names: dict[str, str]
    expressions: tuple[str, ...]
    colours: tuple[str, ...]
    """One ``#rrggbb`` per expression class."""
    keys: tuple[str, ...]
    """One key per expression class, upper case (a key is the same whatever the case)."""
    va_range: tuple[float, float] = (-1.0, 1.0)
    anchors: tuple[str, ...] = _DEFAULT.va_anchors
    countdown: float = 3.0
    source: str = "<settings>"
    """The settings file, for errors."""
    text: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, ws: Workspace) -> Scheme:
        """The workspace's scheme; one :class:`InputError` naming the settings line when its lists disagree."""
        s, desk = ws.settings.labels, ws.settings.desk
        try:
            text = read_text(ws.settings_path, "settings")
        except (FileNotFoundError, OSError):
            text = None
        return cls.build(tuple(s.aus), tuple(s.expressions), desk, str(ws.settings_path), text)

    @classmethod
    def build(cls, aus: tuple[str, ...], expressions: tuple[str, ...], desk: DeskSettings,
              source: str = "<settings>", text: str | None = None) -> Scheme:
        n = len(expressions)

        def error(key: str, msg: str) -> InputError:
            return InputError(source, f"[desk] {key}: {msg}", toml_line(text, ["desk", key]))

        colours, keys = tuple(desk.expression_colours), tuple(k.upper() for k in desk.expression_keys)
        if colours == _DEFAULT.expression_colours:
            colours = _palette(n)
        if keys == _DEFAULT.expression_keys and n != len(keys):
            if n > 9:
                raise error("expression_keys", f"labels.expressions has {n} classes, more than the digits 1-9; "
                                               f"expected one key per class, in their order")
            keys = tuple(str(k) for k in range(1, n + 1))
        for key, values, what in (("expression_colours", colours, "colour"), ("expression_keys", keys, "key")):
            if len(values) != n:
                raise error(key, f"{len(values)} {what}s for the {n} classes of labels.expressions "
                                 f"({', '.join(expressions)}); expected one {what} per class, in their order")
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise error("expression_keys", f"{', '.join(twice)} given to more than one class; expected one key each")
        lo, hi = (float(v) for v in desk.va_range)
        if not lo < hi:
            raise error("va_range", f"[{lo:g}, {hi:g}]: expected [low, high] with low < high (e.g. [-10, 10])")
        return cls(aus, dict(desk.au_names), expressions, colours, keys, (lo, hi), tuple(desk.va_anchors),
                   float(desk.countdown), source, text)

    def key_error(self, key: str, taken_by: str) -> InputError:
        """A class's key that the desk already uses for something else."""
        cls = self.expressions[self.keys.index(key)]
        return InputError(self.source, f"[desk] expression_keys: {key} ({cls}) is already the desk's key for "
                                       f"{taken_by!r}; expected another key", toml_line(self.text, ["desk", "expression_keys"]))

    # ---- AUs ----------------------------------------------------------------------------------------
    def au_title(self, au: str) -> str:
        """``AU12 lip corner puller`` (the number alone where the settings name none)."""
        name = self.au_names.get(au, "")
        return f"{au} {name}" if name else au

    # ---- expressions --------------------------------------------------------------------------------
    def colour(self, k: int) -> str:
        return self.colours[k % len(self.colours)]

    def expression_of(self, key: str) -> int | None:
        """The class whose key is ``key``, or None."""
        key = key.upper()
        return self.keys.index(key) if key in self.keys else None

    def label_keys(self) -> tuple[str, ...]:
        """Every key that labels in some mode: the AU intensities, then the expression keys (some are both)."""
        return tuple(dict.fromkeys((*INTENSITY_KEYS, *self.keys)))

    # ---- valence-arousal ----------------------------------------------------------------------------
    def va_value(self, x: float) -> float:
        """A stored value in [-1, 1] on the scale shown."""
        lo, hi = self.va_range
        return lo + (x + 1) / 2 * (hi - lo)

    def va_number(self, x: float) -> str:
        """A scale mark (the ends and the middle): ``+10``, ``0``, ``-10``; signed only on a scale through 0."""
        v = self.va_value(x)
        v = 0.0 if abs(v) < 1e-9 else v
        return f"{v:+g}" if self.va_range[0] < 0 and v else f"{v:g}"

    def va_text(self, x: float) -> str:
        """A rating on the scale shown, with the decimals its width calls for (``+0.50`` on [-1, 1], ``+5.0``
        on [-10, 10])."""
        width = self.va_range[1] - self.va_range[0]
        decimals = max(0, 2 - max(0, math.floor(math.log10(width / 2)))) if width > 0 else 2
        v = self.va_value(x)
        return f"{v:+.{decimals}f}" if self.va_range[0] < 0 else f"{v:.{decimals}f}"

    def va_scale(self) -> tuple[str, str, str]:
        """The marks at the top, middle and bottom of a VA row (or the disc's edges and centre)."""
        return self.va_number(1.0), self.va_number(0.0), self.va_number(-1.0)

    def anchor_angles(self) -> list[tuple[float, str]]:
        """(degrees counter-clockwise from positive valence, word), evenly spaced."""
        n = len(self.anchors)
        return [(360.0 * k / n, w) for k, w in enumerate(self.anchors)]
