"""An optional joystick or gamepad for the VA pad, read from the Linux joystick interface (``/dev/input/js*``).

Qt 6 has no gamepad module, and the kernel's interface needs no library: every event is 8 bytes, a 32-bit
time in ms, a signed 16-bit value, an 8-bit type (1 button, 2 axis; 0x80 marks the initial state) and an 8-bit
number. Axis 0 is left-right (valence), axis 1 up-down (arousal, up is negative). Without a device, nothing
changes: the mouse drives the pad.
"""

from __future__ import annotations

import errno
import glob
import math
import os
import struct
from pathlib import Path

from affcurate.errors import AffcurateError

EVENT = struct.Struct("<IhBB")
JS_EVENT_BUTTON = 0x01
JS_EVENT_AXIS = 0x02
JS_EVENT_INIT = 0x80
DEADZONE = 0.06


class Joystick:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.axes: dict[int, float] = {}
        self.buttons: dict[int, bool] = {}
        self._pending = b""
        self.events = 0

    @classmethod
    def find(cls) -> Joystick | None:
        """The first joystick the kernel offers, or None."""
        for path in sorted(glob.glob("/dev/input/js*")):
            try:
                return cls(path)
            except OSError:
                continue
        return None

    @classmethod
    def open(cls, spec: str | None) -> Joystick | None:
        """``auto``: the first joystick there is, if any; ``off`` or None: none; else the device at that path."""
        if spec == "auto":
            return cls.find()
        if spec in (None, "off"):
            return None
        try:
            return cls(spec)
        except OSError as exc:
            raise AffcurateError(f"{spec}: cannot open the joystick ({exc.strerror})") from None

    def poll(self) -> bool:
        """Read every event waiting; True if the stick moved."""
        moved = False
        while True:
            try:
                chunk = os.read(self.fd, EVENT.size * 64)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                raise
            if not chunk:
                break
            data = self._pending + chunk
            whole = len(data) - len(data) % EVENT.size
            for off in range(0, whole, EVENT.size):
                _, value, kind, number = EVENT.unpack_from(data, off)
                self.events += 1
                if kind & ~JS_EVENT_INIT == JS_EVENT_AXIS:
                    self.axes[number] = max(-1.0, min(1.0, value / 32767))
                    moved = moved or number in (0, 1)
                elif kind & ~JS_EVENT_INIT == JS_EVENT_BUTTON:
                    self.buttons[number] = bool(value)
            self._pending = data[whole:]
        return moved

    def value(self) -> tuple[float, float]:
        """(valence, arousal) in the unit disc."""
        v, a = self.axes.get(0, 0.0), -self.axes.get(1, 0.0)
        r = math.hypot(v, a)
        if r < DEADZONE:
            return 0.0, 0.0
        if r > 1:
            v, a = v / r, a / r
        return v, a

    def close(self) -> None:
        os.close(self.fd)


def encode_event(value: int, kind: int, number: int, time_ms: int = 0) -> bytes:
    """One event in the kernel's format (for feeding a device file, e.g. in tests)."""
    return EVENT.pack(time_ms, value, kind, number)
