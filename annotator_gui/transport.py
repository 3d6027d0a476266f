"""Play, pause, play the marked range, the speed, the sound, and the countdown before a VA recording pass.

A pass (playback with recording armed) starts after the scheme's countdown, shown on the disc and over the
video; nothing is recorded during it, and the key that started it (Space, or R while playing) cancels it.
Playing or paused is shown over the video and in the info bar. The sound plays with the video at 1× from the
frame playing started (or was sought to) on, and stops whenever the video does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, QTimer

from annotator_gui.playback import Playback
from annotator_gui.view import PAUSED, PLAYING

if TYPE_CHECKING:
    from annotator_gui.window import Desk

COUNT_MS = 50
"""How often the countdown looks at its clock (the number shown changes once a second)."""


class Transport:
    """The desk's playback: what plays, until where, and the countdown before a pass."""

    def __init__(self, desk: Desk):
        self.desk = desk
        self.playback = Playback(desk, desk.fps, self._tick)
        self.stop_at: int | None = None
        """The last frame to play (the out-mark while playing the marked range), or None: the video's end."""
        self.counting = False
        self._shown = 0
        self.started_by = ""
        """The key the countdown was started with (``play`` or ``record``): the same key cancels it."""
        self._clock = QElapsedTimer()
        self._count = QTimer(desk)
        self._count.setInterval(COUNT_MS)
        self._count.timeout.connect(self._count_tick)

    @property
    def playing(self) -> bool:
        return self.playback.playing

    @property
    def remaining(self) -> int:
        """Whole seconds the countdown still shows (0 when none runs)."""
        if not self.counting:
            return 0
        return max(1, math.ceil(self.desk.scheme.countdown - self._clock.elapsed() / 1000))

    # ---- keys ---------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.counting:
            self.cancel()
        elif self.playing:
            self.pause()
        else:
            self.play()

    def play(self, stop_at: int | None = None) -> None:
        d = self.desk
        if self.playing or self.counting:
            return
        if d.current >= d.n_frames - 1 and stop_at is None:
            d.show_frame(0)
        self.stop_at = stop_at
        if d.va.recording and d.scheme.countdown > 0:
            self._count_down("play")
        else:
            self._start()

    def play_range(self) -> None:
        """From the in-mark to the out-mark, then stop (the same key while it plays pauses)."""
        d = self.desk
        if self.playing or self.counting:
            self.toggle_play()
            return
        if not d.marks.marked:
            d.statusBar().showMessage("no range marked: I and O mark one, or drag on the timeline")
            return
        a, b = d.target_range()
        d.show_frame(a)
        self.play(stop_at=b)

    def pause(self) -> None:
        if self.counting:
            self.cancel()
        if not self.playing:
            return
        self.playback.stop()
        self.stop_at = None
        d = self.desk
        d.sound.stop()
        d.va.end(d.session)
        d._after_edit() if d.session.dirty else d._info()
        self.show()

    def toggle_record(self) -> None:
        d = self.desk
        if self.counting and self.started_by == "record":  # R again before the pass began: no pass
            self.cancel()
            d.va.set_recording(False)
            d._info()
            return
        d.va.set_recording(not d.va.recording)
        if d.va.recording and d.task is not d.va:
            d.set_mode("va")
        if self.playing:
            if not d.va.recording:
                d.va.end(d.session)
            elif d.scheme.countdown > 0:  # the pass starts from here, once counted down
                self.playback.stop()
                d.sound.stop()
                self._count_down("record")
            else:
                d.va.begin(d.session, d.current, self.playback.elapsed())
        elif self.counting and not d.va.recording:  # disarmed during a countdown started by Space
            self.cancel()
        d._info()

    def restart(self, frame: int) -> None:
        """A seek while playing: go on from ``frame`` (past the out-mark, to the video's end)."""
        if self.stop_at is not None and frame > self.stop_at:
            self.stop_at = None
        self.playback.restart(frame)
        self.desk.sound.play(frame, self.playback.speed)

    def change_speed(self, step: int) -> None:
        """``step`` speeds faster or slower; while playing, the sound goes on from here at 1× and is muted else."""
        d = self.desk
        self.playback.change_speed(step, d.current)
        if self.playing:
            d.sound.play(d.current, self.playback.speed)
        d._info()

    def toggle_sound(self) -> None:
        d = self.desk
        d.sound.toggle(d.current, self.playback.speed, self.playing)
        d._info()

    # ---- the countdown ------------------------------------------------------------------------------
    def _count_down(self, key: str) -> None:
        self.counting, self.started_by = True, key
        self._clock.start()
        self._count.start()
        self.show()
        self.desk._info()

    def cancel(self) -> None:
        """No pass: the countdown stops and playback stays paused."""
        self._count.stop()
        self.counting, self.started_by = False, ""
        self.stop_at = None
        self.show()
        self.desk._info()

    def _count_tick(self) -> None:
        if self._clock.elapsed() >= self.desk.scheme.countdown * 1000:
            self._count.stop()
            self.counting, self.started_by = False, ""
            self._start()
        elif self.remaining != self._shown:  # the next second
            self.show()
            self.desk._info()

    # ---- playing ------------------------------------------------------------------------------------
    def _start(self) -> None:
        d = self.desk
        d.va.samples = []
        self.playback.start(d.current)
        d.sound.play(d.current, self.playback.speed)
        if d.va.recording:
            d.va.begin(d.session, d.current, self.playback.elapsed())
        self.show()
        d._info()

    def _tick(self, elapsed: float) -> None:
        d = self.desk
        end = d.n_frames if self.stop_at is None else min(self.stop_at + 1, d.n_frames)
        f, last = self.playback.due(elapsed, d.current, end, d.va.recording)
        if f != d.current:
            d.show_frame(f)
        if d.va.recording:
            d.va.poll_stick()
            d.va.sample(d.session, d.current, elapsed)
            d.timeline.update()
        if last:
            self.pause()

    # ---- showing ------------------------------------------------------------------------------------
    def state(self) -> str:
        """What the info bar says: playing (the marked range), paused, or the countdown."""
        if self.counting:
            return f"<span style='color:#d50000'><b>● in {self.remaining}</b></span>"
        if self.playing:
            return f"{PLAYING} playing" + (f" to {self.stop_at}" if self.stop_at is not None else "")
        return f"{PAUSED} paused"

    def show(self) -> None:
        """The state over the video, and the count over the disc and the video."""
        d = self.desk
        self._shown = self.remaining
        count = str(self._shown) if self.counting else ""
        d.view.set_state(PLAYING if self.playing else PAUSED, count)
        if d.pad.countdown != count:
            d.pad.countdown = count
            d.pad.update()
