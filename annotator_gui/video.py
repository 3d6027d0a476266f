"""Frame-exact random access to a workspace's constant-30-fps video, with a bounded cache.

Frame ``i`` is the ``i``-th frame of the file (its presentation time is ``i / fps`` after the first frame's),
whichever way it was reached: stepping forward decodes on, anything else seeks to the keyframe before ``i`` and
decodes up to it, keeping the frames on the way so that stepping back through them is instant. Frames are kept
as decoded (YUV, half the size of RGB) and converted to RGB only when shown, so a jump does not pay for the
frames it passes.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import av
import numpy as np

from affcurate.errors import InputError

FORWARD_DECODE_LIMIT = 90
"""A jump forward by up to this many frames decodes on instead of seeking."""


class FrameSource:
    def __init__(self, path: str | Path, fps: float = 30.0, cache_mb: int = 192):
        self.path = Path(path)
        self.fps = float(fps)
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise InputError(self.path, f"cannot be opened as a video ({exc})") from None
        if not self._container.streams.video:
            raise InputError(self.path, "has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "SLICE"  # frame threading would hold frames back and add latency to a step
        self._tb = float(self._stream.time_base)
        self.width = self._stream.codec_context.width
        self.height = self._stream.codec_context.height
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._cache_frames = max(8, int(cache_mb * 2**20 // max(self.width * self.height * 3 // 2, 1)))
        self._decoder = None
        self._next = -1  # index of the frame the decoder will produce next
        self._pts0 = None
        if self._restart(0) is None:
            raise InputError(self.path, "has no decodable frame")
        self.n_frames = self._count_frames()

    # ---- decoding -----------------------------------------------------------------------------------
    def _count_frames(self) -> int:
        n = self._stream.frames
        if n:
            return int(n)
        dur = self._stream.duration
        return int(round(float(dur) * self._tb * self.fps)) if dur else 0

    def _index_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts if frame.pts is not None else 0
        return int(round((pts - self._pts0) * self._tb * self.fps))

    def _restart(self, target: int) -> av.VideoFrame | None:
        """Seek to the keyframe at or before ``target`` and decode up to it; return it (or None at the end)."""
        if self._pts0 is None:
            self._container.seek(0, stream=self._stream)
            self._decoder = self._container.decode(self._stream)
            f = next(self._decoder, None)
            if f is None:
                return None
            self._pts0 = f.pts or 0
            img = self._keep(0, f)
            self._next = 1
            return img if target == 0 else self._decode_to(target)
        ts = self._pts0 + int(round(target / self.fps / self._tb))
        self._container.seek(max(ts, self._pts0), stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._container.decode(self._stream)
        self._next = -1
        return self._decode_to(target)

    def _decode_to(self, target: int) -> av.VideoFrame | None:
        img = None
        for f in self._decoder:
            idx = self._index_of(f)
            self._next = idx + 1
            if idx < target:
                self._keep(idx, f)  # on the way: cheap to keep, instant to step back to
                continue
            img = self._keep(idx, f)  # past the target only where the file has a hole: show what follows
            break
        else:
            self._next = -1
        return img

    def _keep(self, idx: int, f: av.VideoFrame) -> av.VideoFrame:
        self._cache[idx] = f
        self._cache.move_to_end(idx)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return f

    # ---- the one call the desk makes ----------------------------------------------------------------
    def frame(self, i: int) -> np.ndarray:
        """RGB frame ``i`` (H x W x 3, uint8)."""
        if not 0 <= i < max(self.n_frames, 1):
            raise IndexError(f"frame {i} is outside the video (0-{self.n_frames - 1})")
        f = self._cache.get(i)
        if f is not None:
            self._cache.move_to_end(i)
        elif self._next >= 0 and 0 <= i - self._next < FORWARD_DECODE_LIMIT:
            f = self._decode_to(i)
        if f is None:
            f = self._restart(i)
        if f is None:
            raise IndexError(f"frame {i} could not be decoded from {self.path}")
        return f.to_ndarray(format="rgb24")

    def close(self) -> None:
        # every frame still referenced keeps the decoder's whole buffer pool alive: drop them all
        self._cache.clear()
        self._decoder = None
        if self._container is not None:
            self._container.close()
        self._container = self._stream = None  # the codec context holds its last frame
