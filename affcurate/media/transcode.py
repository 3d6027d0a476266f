"""Constant-frame-rate transcoding with an exact frame map.

The output grid has one frame every ``1/fps`` seconds. Output frame ``i`` shows the source frame in force at
``i/fps`` with nearest rounding (the last source frame whose presentation time is at most half an output period
after ``i/fps``), which is what FFmpeg's ``fps`` filter does. Frames are chosen here, in Python, rather than
inside an FFmpeg filter, so that the frame map is a fact of the run and not a reconstruction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from av.video.frame import PictureType

from affcurate.errors import AffcurateError
from affcurate.io import atomic_path
from affcurate.media.audio import AudioTrack
from affcurate.media.probe import image_files
from affcurate.settings import IngestSettings

_DEFAULTS = IngestSettings()


@dataclass(frozen=True)
class TranscodeOptions:
    """The encoder's knobs; the workspace's are :meth:`from_settings` (its repr is part of the transcode key)."""

    fps: float = _DEFAULTS.fps
    max_height: int = _DEFAULTS.max_height
    keep_audio: bool = _DEFAULTS.keep_audio
    crf: int = _DEFAULTS.crf
    preset: str = _DEFAULTS.preset
    threads: int = _DEFAULTS.encoder_threads
    gop: int = 60
    """Frames between keyframes: 2 s at 30 fps keeps a backward step in the desk to one short decode."""

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> TranscodeOptions:
        """The options of a workspace's ``[ingest]`` settings: the one place where they become encoder options."""
        return cls(fps=settings.fps, max_height=settings.max_height, keep_audio=settings.keep_audio,
                   crf=settings.crf, preset=settings.preset, threads=settings.encoder_threads)


FrameConsumer = Callable[[int, np.ndarray], None]
"""Takes output frame ``i`` as an RGB array (height × width × 3, uint8)."""


@dataclass
class SourceFrame:
    index: int
    time: float
    frame: av.VideoFrame | None = None
    image: np.ndarray | None = None  # RGB, for image sequences and rotated video
    name: str | None = None


def output_size(width: int, height: int, rotation: int, max_height: int) -> tuple[int, int]:
    """Width and height of the output after rotation and optional downscaling; both even (yuv420p)."""
    if rotation in (90, 270):
        width, height = height, width
    if max_height and height > max_height:
        width = width * max_height / height
        height = max_height
    return max(2, int(round(width / 2)) * 2), max(2, int(round(height / 2)) * 2)


def _video_frames(path: Path, rotation: int, counter: dict[str, float]) -> Iterator[SourceFrame]:
    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        t0: float | None = None
        last = -np.inf
        idx = 0
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError:
                counter["bad_packets"] += 1
                break  # the container is truncated: keep what was decoded
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                counter["bad_packets"] += 1
                continue  # one corrupt packet: skip it, keep decoding
            for frame in frames:
                ts = frame.pts if frame.pts is not None else frame.dts
                t = ts * tb if ts is not None else (last + 1.0 / 30 if np.isfinite(last) else 0.0)
                if t0 is None:
                    t0 = t
                    counter["t0"] = t  # the container-clock time of the frame map's src_time 0
                t -= t0
                if t <= last:  # out-of-order or repeated timestamps: keep time monotonic
                    t = last + 1e-6
                last = t
                if rotation:
                    img = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=rotation // 90))
                    yield SourceFrame(idx, t, image=img)
                else:
                    yield SourceFrame(idx, t, frame=frame)
                idx += 1
    finally:
        container.close()


def _image_frames(folder: Path, fps: float) -> Iterator[SourceFrame]:
    for idx, f in enumerate(image_files(folder)):
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            raise AffcurateError(f"cannot read image {f.name}")
        yield SourceFrame(idx, idx / fps, image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), name=f.name)


def transcode(
    src: str | Path,
    dst: str | Path,
    *,
    kind: str = "video",
    duration: float,
    width: int,
    height: int,
    rotation: int = 0,
    image_fps: float = 30.0,
    options: TranscodeOptions = TranscodeOptions(),
    on_frame: Callable[[int], None] | None = None,
    has_audio: bool = True,
    frames_to: FrameConsumer | None = None,
) -> pd.DataFrame:
    """Write ``dst`` (constant-fps H.264 yuv420p mp4) from ``src`` and return its frame map.

    ``duration``, ``width``, ``height``, ``rotation`` and ``has_audio`` come from the probe. The output has
    ``round(duration * fps)`` frames when the whole source decodes; a truncated source yields fewer.
    ``frames_to(i, rgb)`` is handed every output frame as a reader of ``dst`` will decode it, in order, while the
    file is written: a later stage sees the same pixels as when it reads the file, without reading it.
    """
    src, dst = Path(src), Path(dst)
    fps = float(options.fps)
    period = 1.0 / fps
    n_out = max(1, int(round(duration * fps)))
    out_w, out_h = output_size(width, height, rotation, options.max_height)
    counter: dict[str, float] = {"bad_packets": 0}
    if kind == "images":
        source = _image_frames(src, image_fps)
    else:
        source = _video_frames(src, rotation, counter)

    rate = Fraction(fps).limit_denominator(1001)
    out_idx, src_idx, src_time, src_name = [], [], [], []
    audio: AudioTrack | None = None
    with atomic_path(dst, suffix=".mp4") as tmp:
        out = av.open(str(tmp), mode="w", format="mp4")
        try:
            vstream = out.add_stream("libx264", rate=rate)
            vstream.width, vstream.height = out_w, out_h
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.thread_count = options.threads
            frame_tb = Fraction(1, 1) / rate
            vstream.codec_context.gop_size = options.gop
            vstream.options = {"crf": str(options.crf), "preset": options.preset}
            # every stream is added before the first packet is muxed (the header is written then)
            audio = AudioTrack.of(src, out) if options.keep_audio and has_audio and kind == "video" else None
            echo = _Echo(vstream, frames_to) if frames_to is not None else None

            def mux(packets: list[av.Packet]) -> None:
                for packet in packets:
                    if echo is not None:
                        echo.decode(packet)  # before muxing, which takes the packet over
                    out.mux(packet)

            def emit(sf: SourceFrame, upto: int, i: int) -> int:
                """Encode source frame ``sf`` for output frames ``i`` .. ``upto - 1``."""
                if i >= upto:
                    return i
                if sf.frame is not None:
                    vf = sf.frame.reformat(width=out_w, height=out_h, format="yuv420p")
                    # the source's picture types would be forced on the encoder: let it choose its own
                    vf.pict_type = PictureType.NONE
                else:
                    img = sf.image
                    if img.shape[1] != out_w or img.shape[0] != out_h:
                        img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA)
                    vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
                while i < upto:
                    vf.pts = i
                    vf.time_base = frame_tb
                    mux(vstream.encode(vf))
                    out_idx.append(i)
                    src_idx.append(sf.index)
                    src_time.append(sf.time)
                    src_name.append(sf.name)
                    if on_frame is not None:
                        on_frame(1)
                    i += 1
                return i

            i = 0
            current: SourceFrame | None = None
            for sf in source:
                if current is not None:
                    # current stays in force for every output frame whose rounded time precedes sf.
                    upto = min(n_out, int(np.ceil((sf.time - 0.5 * period) / period - 1e-9)))
                    i = emit(current, upto, i)
                current = sf
                if i >= n_out:
                    break
            if current is None:
                raise AffcurateError("no frame could be decoded")
            i = emit(current, n_out, i)
            mux(vstream.encode(None))
            if echo is not None:
                echo.decode(None)
            if audio is not None:
                audio.write(start=counter.get("t0", 0.0), seconds=len(out_idx) / fps)
        finally:
            if audio is not None:
                audio.close()
            out.close()

    repeated = np.zeros(len(src_idx), dtype=bool)
    if src_idx:
        s = np.asarray(src_idx)
        repeated[1:] = s[1:] == s[:-1]
    return pd.DataFrame(
        {
            "frame": np.asarray(out_idx, dtype=np.int64),
            "time": np.asarray(out_idx, dtype=np.float64) / fps,
            "src_frame": np.asarray(src_idx, dtype=np.int64),
            "src_time": np.asarray(src_time, dtype=np.float64),
            "repeated": repeated,
            "src_name": pd.array(src_name, dtype="string"),
        }
    )


class _Echo:
    """A decoder of the encoder's packets: the frames exactly as the file will give them, without reading it."""

    def __init__(self, stream: av.video.stream.VideoStream, consumer: FrameConsumer) -> None:
        self._stream, self._consumer = stream, consumer
        self._decoder: av.CodecContext | None = None

    def decode(self, packet: av.Packet | None) -> None:
        if self._decoder is None:
            if packet is None:
                return
            # the stream's parameter sets travel in the encoder's extradata (mp4 keeps them in the header)
            self._decoder = av.CodecContext.create("h264", "r")  # what libx264 writes
            self._decoder.extradata = self._stream.codec_context.extradata
        for frame in self._decoder.decode(packet):
            self._consumer(int(frame.pts), frame.to_ndarray(format="rgb24"))
