"""Which frames of a video stand for its subject's face, and reading only those frames.

The rule (``choose``): among the subject's frames where the detector found the face (not carried between
detections), each gets a pose score ``size × frontal × detector score``:

- ``size``: the face box's side over 100 pixels, capped at 1 (dlib's chip is 150 pixels; larger adds nothing);
- ``frontal``: 1 − 2 × |nose offset|, where the offset is the nose tip's position along the eye line from the
  eyes' midpoint, in eye distances (0 for a frontal face, about 0.3 at 45° of yaw), clipped at 0;
- the detector's score.

How many: one descriptor per started ``SECONDS_PER_DESCRIPTOR`` (10) seconds of the subject's presence (the
frames where the faces stage has it), at most ``[subjects] frames`` (so a 3-second clip has one, a minute of
presence five). dlib's network costs about as much as 10 frames of the faces stage, and the frames of a short clip
add little that its best frame does not say: more would cost more than the 10 % of the faces stage the
descriptors may take.

The subject's frames are cut into ``2 × n`` runs (at least 3) of equal length and the best-posed frame of each
run is a candidate (so the candidates spread over the video). Those frames are decoded and each gets its
sharpness, the variance of the Laplacian of the face region scaled to 64×64 grey, over the sharpest candidate's.
The ``n`` candidates with the best ``pose × sharpness`` are kept (ties: the earlier frame), two neighbouring
candidates only when there are not enough others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from affcurate.faces.table import FaceTracks

CANDIDATES_PER_FRAME = 2
SECONDS_PER_DESCRIPTOR = 10.0
SHARP_SIDE = 64


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(N, 5, 2) eyes, nose tip and mouth corners from five landmarks, or from 68 (the fan backend's)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim == 3 and lm.shape[1] == 68:
        return np.stack([lm[:, 36:42].mean(1), lm[:, 42:48].mean(1), lm[:, 30], lm[:, 48], lm[:, 54]], 1)
    return lm


def frontal(landmarks: np.ndarray) -> np.ndarray:
    """(N,) 1 for a frontal face, falling to 0 with yaw, from the landmarks (eyes, nose first)."""
    lm = five_points(landmarks)
    if lm.ndim != 3 or lm.shape[1] < 3:
        return np.ones(len(lm))
    eyes = lm[:, :2]
    axis = eyes[:, 1] - eyes[:, 0]
    dist = np.maximum(np.hypot(axis[:, 0], axis[:, 1]), 1e-6)
    offset = np.einsum("ij,ij->i", lm[:, 2] - eyes.mean(1), axis) / dist**2
    return np.clip(1 - 2 * np.abs(offset), 0, 1)


def pose_scores(target: FaceTracks) -> np.ndarray:
    """(N,) size × frontal × detector score of each of the subject's rows."""
    sides = np.sqrt(np.maximum(target.boxes[:, 2] - target.boxes[:, 0], 0)
                    * np.maximum(target.boxes[:, 3] - target.boxes[:, 1], 0))
    return np.minimum(sides / 100.0, 1.0) * frontal(target.landmarks) * np.clip(target.scores, 0, 1)


def how_many(target: FaceTracks, frames: int, fps: float) -> int:
    """Descriptors for this subject: one per started 10 seconds of its presence, at most ``frames``."""
    if len(target) == 0 or frames <= 0:
        return 0
    return int(min(frames, np.ceil(len(target) / (fps * SECONDS_PER_DESCRIPTOR))))


def candidates(target: FaceTracks, frames: int) -> np.ndarray:
    """Row indices of ``target`` (the subject's rows) worth decoding for ``frames`` descriptors: the best-posed
    row of each of ``2 × frames`` (at least 3) equal runs of its detected rows, in frame order."""
    rows = np.flatnonzero(target.detected)
    if len(rows) == 0:
        rows = np.arange(len(target))  # only carried faces (a given face table): use them
    if len(rows) == 0 or frames <= 0:
        return np.zeros(0, np.int64)
    score = pose_scores(target)
    picked = []
    for run in np.array_split(rows, min(len(rows), max(CANDIDATES_PER_FRAME * frames, 3))):
        picked.append(run[int(np.argmax(score[run]))])  # argmax: the earliest of equal scores
    return np.asarray(sorted(set(picked)), np.int64)


def sharpness(rgb: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian of the face region, scaled to 64×64 grey (0 when the box is off the picture)."""
    h, w = rgb.shape[:2]
    x1, y1 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x2, y2 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return 0.0
    grey = cv2.cvtColor(rgb[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (SHARP_SIDE, SHARP_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def final(pose: np.ndarray, sharp: np.ndarray, frames: int) -> np.ndarray:
    """Positions (into the candidates, in frame order) of the ``frames`` best by pose × relative sharpness,
    best first, passing over a candidate next to one already kept while others are left (spread in time)."""
    rel = sharp / sharp.max() if len(sharp) and sharp.max() > 0 else np.ones(len(sharp))
    order = np.lexsort((np.arange(len(pose)), -(pose * rel))).tolist()  # best first, the earlier of equals
    kept: list[int] = []
    for pos in order:
        if len(kept) < frames and not any(abs(pos - k) == 1 for k in kept):
            kept.append(pos)
    kept += [pos for pos in order if pos not in kept][: max(frames - len(kept), 0)]
    return np.sort(np.asarray(kept, np.int64))


def read_frames(path: Path, wanted: list[int], fps: float, gop: int = 60) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB) of the ``wanted`` frames of a constant-fps video, in increasing order: it seeks to the
    keyframe before a wanted frame that is more than ``gop`` frames ahead and decodes forward from there (a
    frame the file does not have is left out)."""
    todo = sorted({int(w) for w in wanted})
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        start = float(stream.start_time or 0) * tb
        decoder: Iterator[av.VideoFrame] | None = None
        position = -1  # the last decoded frame
        while todo:
            if decoder is None or todo[0] - position > gop:
                when = max(todo[0] - 1, 0) / fps + start  # a frame early: the keyframe at or before it
                container.seek(int(when / tb), stream=stream, backward=True, any_frame=False)
                decoder = container.decode(stream)
            frame = next(decoder, None)
            if frame is None:
                return  # past the end of the file
            ts = frame.pts if frame.pts is not None else frame.dts
            position = int(round((ts * tb - start) * fps)) if ts is not None else position + 1
            while todo and todo[0] < position:
                todo.pop(0)
            if todo and todo[0] == position:
                todo.pop(0)
                yield position, frame.to_ndarray(format="rgb24")
