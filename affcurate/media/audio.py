"""The source's sound, kept in the 30 fps file on the frame map's clock.

Audio sample ``k`` of the output plays at ``k / rate`` seconds after the first kept video frame (the frame map's
``src_time`` 0), so it lines up with output frame ``i`` at ``i / fps``. Where the source has no sound for part of
the video (a track that starts late, ends early or has a gap) the output holds silence; sound before the first
video frame or after the last is cut, so the audio stream starts and ends with the video.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

_LAYOUTS = {1: "mono", 2: "stereo"}


class AudioTrack:
    """The first audio stream of ``src`` re-encoded to AAC into ``out``; :meth:`write` after the video."""

    def __init__(self, inp: av.container.InputContainer, out: av.container.OutputContainer) -> None:
        self._inp = inp  # kept open from the check for sound to the end of the writing: one open per video
        ain = inp.streams.audio[0]
        self.rate = int(ain.codec_context.sample_rate or 48000)
        channels = int(ain.codec_context.channels or 2)
        # more than two channels are mixed down: the desk plays stereo and AAC-LC stays simple
        self._layout = _LAYOUTS.get(channels, "stereo")
        self._stream = out.add_stream("aac", rate=self.rate, layout=self._layout)
        self._stream.time_base = Fraction(1, self.rate)
        self._out = out

    @staticmethod
    def of(src: Path, out: av.container.OutputContainer) -> AudioTrack | None:
        """The track of ``src`` when it has sound it can decode; None for a silent or unreadable one."""
        try:
            inp = av.open(str(src))
        except av.error.FFmpegError:
            return None
        if not inp.streams.audio or not inp.streams.audio[0].codec_context.sample_rate:
            inp.close()
            return None
        return AudioTrack(inp, out)

    def close(self) -> None:
        self._inp.close()

    def write(self, start: float, seconds: float) -> None:
        """Encode the source's sound from source time ``start`` (the first kept video frame, in the container's
        clock) for ``seconds``: silence where the source has none, nothing past the end."""
        total = int(round(seconds * self.rate))
        placer = _Placer(self, total)
        resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self.rate)
        with self._inp as inp:
            ain = inp.streams.audio[0]
            tb = float(ain.time_base)
            for packet in inp.demux(ain):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue  # one corrupt packet: the gap becomes silence
                for frame in frames:
                    at = None if frame.pts is None else int(round((frame.pts * tb - start) * self.rate))
                    for rf in resampler.resample(frame):
                        placer.put(rf.to_ndarray(), at)
                        at = None
                if placer.full:
                    break
        placer.finish()

    def _encode(self, samples: np.ndarray, pts: int) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp",
                                           layout=self._layout)
        frame.sample_rate = self.rate
        frame.pts = pts
        frame.time_base = self._stream.time_base
        for packet in self._stream.encode(frame):
            self._out.mux(packet)

    def _flush(self) -> None:
        for packet in self._stream.encode(None):
            self._out.mux(packet)


class _Placer:
    """Lays decoded samples on the output clock and hands the encoder whole AAC frames."""

    def __init__(self, track: AudioTrack, total: int) -> None:
        self._track = track
        self._total = total
        self._pos = 0  # output samples laid so far
        self._sent = 0  # output samples encoded so far
        self._size = track._stream.codec_context.frame_size or 1024
        self._pending: list[np.ndarray] = []
        self._n_pending = 0

    @property
    def full(self) -> bool:
        return self._pos >= self._total

    def put(self, samples: np.ndarray, at: int | None) -> None:
        """Place ``samples`` (channels × n) at output sample ``at`` (None: right after the previous ones)."""
        at = self._pos if at is None else at
        if at > self._pos:  # the source is silent until ``at``
            self._lay(np.zeros((samples.shape[0], min(at, self._total) - self._pos), dtype=np.float32))
        elif at < self._pos:  # before the first video frame, or overlapping what is laid: cut
            samples = samples[:, self._pos - at:]
        self._lay(samples[:, : max(0, self._total - self._pos)])

    def _lay(self, samples: np.ndarray) -> None:
        if samples.shape[1] == 0:
            return
        self._pending.append(samples)
        self._n_pending += samples.shape[1]
        self._pos += samples.shape[1]
        if self._n_pending >= self._size:
            block = np.concatenate(self._pending, axis=1)
            n = (block.shape[1] // self._size) * self._size
            for s in range(0, n, self._size):
                self._track._encode(block[:, s:s + self._size], self._sent)
                self._sent += self._size
            self._pending = [block[:, n:]]
            self._n_pending = block.shape[1] - n

    def finish(self) -> None:
        """Silence up to the end of the video, the last short frame, and the encoder's tail."""
        channels = 1 if self._track._layout == "mono" else 2
        if self._pos < self._total:
            self._lay(np.zeros((channels, self._total - self._pos), dtype=np.float32))
        if self._n_pending:
            self._track._encode(np.concatenate(self._pending, axis=1), self._sent)
            self._sent += self._n_pending
            self._pending, self._n_pending = [], 0
        self._track._flush()
