"""The detection pass of the faces stage: decode, detect on keyframes every k frames (carrying boxes between
keyframes that agree), track, and keep every face's aligned crop until the subject is known. Its output is the
video's :class:`~affcurate.faces.table.FaceTracks` in the order the crops were kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from affcurate.faces.align import aligned_crop
from affcurate.faces.crops import CropSink
from affcurate.faces.detectors import Detector
from affcurate.faces.table import FaceTracks
from affcurate.faces.tracker import Tracker, appearance, frame_signature, is_cut
from affcurate.faces.types import Detections, iou_matrix
from affcurate.settings import FacesSettings


@dataclass
class DecodeStats:
    bad_frames: int = 0


def decode_frames(path: Path, fps: float, stats: DecodeStats) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB image) of a constant-fps video; a packet that fails to decode is skipped and counted,
    and frame indices come from timestamps, so a skipped frame leaves a gap instead of shifting the rest."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        expected = 0
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                stats.bad_frames += 1
                continue
            for frame in frames:
                ts = frame.pts if frame.pts is not None else frame.dts
                idx = int(round(ts * tb * fps)) if ts is not None else expected
                if idx > expected:
                    stats.bad_frames += idx - expected
                expected = idx + 1
                yield idx, frame.to_ndarray(format="rgb24")


def _filter(dets: Detections, min_face: int) -> Detections:
    return dets.select(dets.sizes >= min_face) if len(dets) else dets


def _consistent(a: Detections, b: Detections, redetect_below: float) -> np.ndarray | None:
    """If the detections of two keyframes are the same faces (one-to-one, overlapping well, confident),
    the index in ``b`` of each face of ``a``; else None (the frames between must be detected)."""
    if len(a) != len(b):
        return None
    if len(a) == 0:
        return np.zeros(0, int)
    if (b.scores < redetect_below).any() or (a.scores < redetect_below).any():
        return None
    iou = iou_matrix(a.boxes, b.boxes)
    match = iou.argmax(1)
    if len(set(match.tolist())) != len(a) or (iou[np.arange(len(a)), match] < 0.5).any():
        return None
    return match


def _interpolate(a: Detections, b: Detections, match: np.ndarray, t: float) -> Detections:
    bb = b.select(match)
    return Detections((1 - t) * a.boxes + t * bb.boxes, (1 - t) * a.scores + t * bb.scores,
                      (1 - t) * a.landmarks + t * bb.landmarks)


class DetectionPass:
    """Detection with carrying between keyframes, fed into the tracker frame by frame: :meth:`push` every decoded
    frame in order, then :meth:`finish`; :meth:`faces` is every face of every frame with its track."""

    def __init__(self, detector: Detector, settings: FacesSettings, crops: CropSink):
        self.detector = detector
        self.crops = crops
        self.s = settings
        self.tracker = Tracker(max_gap=settings.max_gap)
        self.frames: list[tuple[int, Detections, np.ndarray]] = []
        self.latest: dict[int, tuple[np.ndarray, np.floating, np.ndarray]] = {}  # per track: box, score, landmarks
        self.prev_sig: np.ndarray | None = None
        self.key: tuple[int, Detections] | None = None
        self.buffer: list[tuple[int, np.ndarray, bool]] = []
        self.n_detector_calls = 0
        self.n_frames = 0
        self.k = 5

    def faces(self, video_id: str) -> FaceTracks:
        """The faces in the order their crops were kept (frame by frame), nobody the subject yet."""
        return FaceTracks.from_detections(video_id, self.frames, self.k)

    def detect(self, rgb: np.ndarray) -> Detections:
        self.n_detector_calls += 1
        dets = _filter(self.detector(rgb), self.s.min_face)
        self.k = dets.landmarks.shape[1]
        if self.s.refine and dets.landmarks.shape[1] == 5:
            # landmarks again at a larger scale: carried frames interpolate between refined keyframes
            for i in range(len(dets)):
                dets.landmarks[i] = refine_landmarks(self.detector, rgb, dets.boxes[i], dets.landmarks[i])
                self.n_detector_calls += 1
        return dets

    def push(self, idx: int, rgb: np.ndarray) -> None:
        self.n_frames = max(self.n_frames, idx + 1)
        sig = frame_signature(rgb)
        cut = is_cut(self.prev_sig, sig)
        self.prev_sig = sig
        if self.key is None:
            dets = self.detect(rgb)
            self._feed(idx, rgb, dets, np.ones(len(dets), bool), cut)
            self.key = (idx, dets)
            return
        self.buffer.append((idx, rgb, cut))
        if len(self.buffer) >= self.s.detect_every or cut:
            self._flush()

    def finish(self) -> None:
        if self.buffer:
            self._flush()

    def _flush(self) -> None:
        assert self.key is not None
        key_idx, key_dets = self.key
        last_idx, last_rgb, _ = self.buffer[-1]
        end = self.detect(last_rgb)
        inner_cut = any(c for _, _, c in self.buffer)
        match = None if inner_cut else _consistent(key_dets, end, self.s.redetect_below)
        for idx, rgb, cut in self.buffer[:-1]:
            if match is not None:
                t = (idx - key_idx) / max(last_idx - key_idx, 1)
                dets = _interpolate(key_dets, end, match, t)
                self._feed(idx, rgb, dets, np.zeros(len(dets), bool), cut)
            else:
                dets = self.detect(rgb)
                self._feed(idx, rgb, dets, np.ones(len(dets), bool), cut)
        self._feed(last_idx, last_rgb, end, np.ones(len(end), bool), self.buffer[-1][2])
        self.key = (last_idx, end)
        self.buffer = []

    def _feed(self, idx: int, rgb: np.ndarray, dets: Detections, detected: np.ndarray, cut: bool) -> None:
        if cut:
            self.tracker.cut(idx)
        descs = [appearance(rgb, b) if d else None for b, d in zip(dets.boxes, detected, strict=True)]
        ids = self.tracker.update(idx, dets, detected, descs)
        for tid, box, lm, d in zip(ids, dets.boxes, dets.landmarks, detected, strict=True):
            if d:
                self.tracker.remember_face(tid, rgb, box, lm)
        boxes, scores, landmarks = list(dets.boxes), list(dets.scores), [lm.copy() for lm in dets.landmarks]
        # tracks the detector missed coast on their predicted box for a few frames, their landmarks shifted along
        coasting = self.tracker.coasting(idx)
        for tid, box in coasting:
            last_box, last_score, last_lm = self.latest[tid]  # a coasting track has no face in this frame
            shift = np.array([(box[0] + box[2] - last_box[0] - last_box[2]) / 2,
                              (box[1] + box[3] - last_box[1] - last_box[3]) / 2])
            boxes.append(box)
            scores.append(0.5 * last_score)
            landmarks.append(last_lm + shift)
        track_ids = ids + [tid for tid, _ in coasting]
        for tid, box, score, lm in zip(track_ids, boxes, scores, landmarks, strict=True):
            # the subject is only known at the end: keep every face's aligned crop
            self.crops.add(aligned_crop(rgb, np.asarray(lm, np.float64), self.s.crop_size, self.s.align))
            self.latest[tid] = (box, score, lm)
        if track_ids:
            frame = Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32),
                               np.asarray(landmarks, np.float32), np.asarray(track_ids, np.int64))
            self.frames.append((idx, frame, np.concatenate([detected, np.zeros(len(coasting), bool)])))


def refine_landmarks(detector: Detector, rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray,
                     face_px: int = 128) -> np.ndarray:
    """Landmarks detected again on a region around ``box`` at a scale where the face is about ``face_px``
    pixels; the carried or small-scale landmarks are kept when the region shows no face."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = rgb.shape[:2]
    half = side
    rx1, ry1 = int(max(0, cx - half)), int(max(0, cy - half))
    rx2, ry2 = int(min(w, cx + half)), int(min(h, cy + half))
    if rx2 - rx1 < 8 or ry2 - ry1 < 8:
        return landmarks
    scale = face_px / max(side, 1)
    region = cv2.resize(rgb[ry1:ry2, rx1:rx2], None, fx=scale, fy=scale,
                        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    dets = detector(region)
    if len(dets) == 0:
        return landmarks
    centres = dets.centres / scale + [rx1, ry1]
    best = int(np.argmin(np.hypot(centres[:, 0] - cx, centres[:, 1] - cy)))
    if np.hypot(*(centres[best] - [cx, cy])) > 0.3 * side:
        return landmarks
    return dets.landmarks[best] / scale + [rx1, ry1]
