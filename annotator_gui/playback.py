"""Playback: a clock that says which frame is due at each tick, at the chosen speed."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
TICK_MS = 15
"""Playback clock: every tick shows the frame due at that moment and, while recording, samples the pad
(about 66 samples a second, each tied to the frame on screen)."""


class Playback:
    """Frames follow the wall clock from the frame playback started on; ``on_tick(elapsed)`` runs every tick."""

    def __init__(self, parent: QObject, fps: float, on_tick: Callable[[float], None]):
        self.fps = fps
        self.speed = 1.0
        self.playing = False
        self._clock = QElapsedTimer()
        self._from = 0
        self._timer = QTimer(parent)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: on_tick(self.elapsed()))

    def start(self, frame: int) -> None:
        self.playing = True
        self._from = frame
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self.playing = False
        self._timer.stop()

    def restart(self, frame: int) -> None:
        """Go on from ``frame`` (a seek while playing): the clock starts again there."""
        self._from, self._clock = int(frame), QElapsedTimer()
        self._clock.start()

    def change_speed(self, d: int, frame: int) -> None:
        """``d`` steps faster (or slower) in SPEEDS; while playing, the new speed counts from ``frame``."""
        i = min(max(SPEEDS.index(self.speed) + d, 0), len(SPEEDS) - 1)
        self.speed = SPEEDS[i]
        if self.playing:
            self._from = frame
            self._clock.start()

    def elapsed(self) -> float:
        """Seconds since playback started (or went on from a seek or a change of speed)."""
        return self._clock.nsecsElapsed() / 1e9

    def due(self, elapsed: float, current: int, n_frames: int, rating: bool) -> tuple[int, bool]:
        """The frame to show ``elapsed`` seconds in, and whether it is the last one."""
        f = self._from + int(elapsed * self.fps * self.speed)
        if rating and self.speed <= 1 and f > current + 1:
            # a late tick while rating: show the next frame rather than skip one, so none goes unrated;
            # ticks come twice a frame at 1x, so the video catches up with the clock at once
            f = current + 1
        return min(f, n_frames - 1), f >= n_frames - 1
