"""The video's sound: its audio track decoded to mono samples on the frame grid, and played at 1× from the frame
on screen.

Sample ``frame / fps * rate`` sounds with frame ``frame``: the 30 fps file's audio timestamps count from its
first video frame, so the decoded track is placed by its first timestamp and padded or cut to the video's
length. Playing is pygame's mixer (SDL); when no audio device opens, the desk says so once and stays silent.
At speeds other than 1× the sound is muted rather than played off pitch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    from annotator_gui.waveform import Waveform

RATE = 16000
"""Samples a second of the decoded track: enough for voice, a quarter of the memory of 48 kHz stereo."""
CACHED = 4
"""Decoded tracks kept, so that going back to a video does not decode it again."""
BACKGROUND_S = 60.0
"""A video longer than this has its sound decoded beside the desk (it takes about 0.2 s a minute of sound), so
opening it does not wait; the waveform says so until it is drawn."""
POLL_MS = 50
"""How often the desk looks whether a track decoded beside it has arrived."""


@dataclass(frozen=True)
class Track:
    """A video's sound: mono int16 samples at ``rate``, sample 0 at the first video frame, as long as the video."""

    samples: np.ndarray
    rate: int
    fps: float

    @cached_property
    def level(self) -> float:
        """The loudness most frames stay under (the 95th percentile of the frames' peaks, at least 1): the
        waveform is drawn to it, so a quiet voice shows and a loud moment reaches the edge."""
        peaks = self.frame_peaks(max(round(len(self.samples) / self.rate * self.fps), 1))
        return max(float(np.percentile(peaks, 95)), 1.0)

    def offset(self, frame: int) -> int:
        """The first sample of ``frame``."""
        return min(round(frame / self.fps * self.rate), len(self.samples))

    def frame_peaks(self, n_frames: int) -> np.ndarray:
        """Per frame, the largest absolute sample (0 for a silent frame)."""
        edges = np.minimum(np.round(np.arange(n_frames) / self.fps * self.rate), len(self.samples) - 1)
        return np.maximum.reduceat(np.abs(self.samples.astype(np.int32)), edges.astype(np.int64))


def decode(path: Path, fps: float, n_frames: int, rate: int = RATE) -> Track | None:
    """The first audio stream of ``path`` as a Track of ``n_frames`` frames at ``fps``, or None when it has none."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        t0 = float(video.start_time * video.time_base) if video and video.start_time is not None else 0.0
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        chunks, first = [], None
        for frame in container.decode(stream):
            if first is None and frame.time is not None:
                first = frame.time
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    samples = np.zeros(round(n_frames / fps * rate), dtype=np.int16)
    start = round(((first if first is not None else t0) - t0) * rate)  # where the track begins relative to the first frame
    if start < 0:
        decoded, start = decoded[-start:], 0
    decoded = decoded[:max(len(samples) - start, 0)]
    samples[start:start + len(decoded)] = decoded
    track = Track(samples, rate, fps)
    _ = track.level  # measured here, where a long track is decoded beside the desk
    return track


class Tracks:
    """Decoded tracks by video file, the few most recent kept (a file rewritten since is decoded again)."""

    def __init__(self, keep: int = CACHED):
        self.keep = keep
        self._tracks: OrderedDict[tuple, Track | None] = OrderedDict()

    @staticmethod
    def key(path: Path, fps: float, n_frames: int) -> tuple:
        st = path.stat()
        return str(path), st.st_mtime_ns, st.st_size, fps, n_frames

    def __contains__(self, key: tuple) -> bool:
        return key in self._tracks

    def get(self, key: tuple) -> Track | None:
        self._tracks.move_to_end(key)
        return self._tracks[key]

    def put(self, key: tuple, track: Track | None) -> None:
        self._tracks[key] = track
        while len(self._tracks) > self.keep:
            self._tracks.popitem(last=False)


class Player:
    """Plays a Track from a sample on with pygame's mixer, opened on first use; ``error`` says why it cannot."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.sound = None
        """The pygame Sound playing (or last played): the track from ``offset`` on."""
        self.offset = 0
        self._channel = None
        self._mixer = None

    def _open(self, rate: int) -> bool:
        if self._mixer is not None or self.error is not None:
            return self._mixer is not None
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # pygame greets on import otherwise
        try:
            import pygame.mixer
        except ImportError:
            self.error = "pygame is not installed (pip install 'affcurate[desk]')"
            return False
        try:
            # exactly this format: SDL converts for the device, so a sample offset means the same time
            if pygame.mixer.get_init() not in (None, (rate, -16, 1)):  # opened before in another format
                pygame.mixer.quit()
            pygame.mixer.init(frequency=rate, size=-16, channels=1, buffer=512, allowedchanges=0)
        except pygame.error as exc:
            self.error = str(exc).split("\n", 1)[0].strip()
            return False
        self._mixer = pygame.mixer
        return True

    def play(self, track: Track, offset: int) -> bool:
        """Play ``track`` from sample ``offset``; False when no device opens (``error`` says why)."""
        self.stop()
        if not self._open(track.rate):
            return False
        self.offset = offset
        self.sound = self._mixer.Sound(buffer=track.samples[offset:].tobytes())
        self._channel = self.sound.play()
        return True

    @property
    def busy(self) -> bool:
        return self._channel is not None and self._channel.get_busy()

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.stop()
            self._channel = None

    def close(self) -> None:
        self.stop()
        if self._mixer is not None:
            self._mixer.quit()
            self._mixer = None


class DeskSound:
    """The desk's sound: on or off, the open video's track, and playing it with the video at 1×.

    ``tell`` shows a line in the status bar (no sound device, once; the sound key's answer); ``waveform``
    (``set_track``, ``set_state``) shows the track and whether it is heard; ``now`` says (frame on screen, speed,
    playing) when a track decoded beside the desk arrives."""

    def __init__(self, tell: Callable[[str], None], waveform: Waveform,
                 now: Callable[[], tuple[int, float, bool]], on: bool = True):
        self.tell, self.waveform, self.now = tell, waveform, now
        self.on = on
        self.track: Track | None = None
        self.note = ""
        """Why the open video has no track to show or play ("no audio track", "reading the sound…", or what
        failed in decoding it)."""
        self.player = Player()
        self._tracks = Tracks()
        self._told = False
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sound")
        self._pending: tuple[tuple, Future] | None = None
        self._poll = QTimer()
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._arrived)

    @property
    def reading(self) -> bool:
        """The open video's track is being decoded."""
        return self._pending is not None

    def open_video(self, path: Path, fps: float, n_frames: int) -> None:
        self.player.stop()
        self._pending = None
        self._poll.stop()
        try:
            key = Tracks.key(path, fps, n_frames)
            if key not in self._tracks and n_frames / fps > BACKGROUND_S:  # a long track: decoded beside the desk
                self._pending = (key, self._pool.submit(decode, path, fps, n_frames))
                self._poll.start()
                self._show_track(None, "reading the sound…")
                return
            if key not in self._tracks:
                self._tracks.put(key, decode(path, fps, n_frames))
            self._show_track(self._tracks.get(key))
        except (av.FFmpegError, OSError) as exc:
            self._show_track(None, f"audio track unreadable ({exc})")

    def _show_track(self, track: Track | None, note: str = "") -> None:
        self.track = track
        self.note = note or ("" if track is not None else "no audio track")
        self.waveform.set_track(track, self.note)

    def _arrived(self) -> None:
        key, future = self._pending
        if not future.done():
            return
        self._poll.stop()
        self._pending = None
        try:
            self._tracks.put(key, future.result())
        except (av.FFmpegError, OSError) as exc:
            self._show_track(None, f"audio track unreadable ({exc})")
            return
        self._show_track(self._tracks.get(key))
        frame, speed, playing = self.now()
        if playing:  # playing already: heard from the frame on screen on
            self.play(frame, speed)
        self.show(speed)

    def play(self, frame: int, speed: float) -> None:
        """Sound from ``frame`` on, when it is on, at 1× and the video has a track."""
        self.player.stop()
        if not self.on or speed != 1.0 or self.track is None:
            return
        if not self.player.play(self.track, self.track.offset(frame)) and not self._told:
            self._told = True
            self.tell(f"no sound device: {self.player.error}; the desk goes on without sound")

    def stop(self) -> None:
        self.player.stop()

    def toggle(self, frame: int, speed: float, playing: bool) -> None:
        if self.track is None and not self.reading:
            self.tell(f"{self.note}: no sound to play on this video")
            return
        self.on = not self.on
        if self.on and playing:
            self.play(frame, speed)
        elif not self.on:
            self.stop()
        if self.player.error is None or not self.on:
            self.tell("sound on" if self.on else "sound off")

    def show(self, speed: float) -> None:
        """Say on the waveform's row whether the sound is heard (drawn muted when it is not)."""
        if self.track is None:
            state = "reading" if self.reading else "none"
        elif not self.on:
            state = "off (S)"
        elif self.player.error is not None:
            state = "no device"
        else:
            state = "♪ on" if speed == 1.0 else f"muted at {speed:g}×"
        self.waveform.set_state(state, self.track is not None and state != "♪ on")

    def close(self) -> None:
        self._poll.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.player.close()
