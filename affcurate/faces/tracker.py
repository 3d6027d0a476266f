"""Linking detections across frames into tracks.

Online: each frame's detections are assigned to the live tracks by optimal assignment (Hungarian) on a cost
that mixes overlap with the track's motion-predicted box and centre distance relative to face size. A track
missed by the detector coasts on its predicted box for a few frames; a shot cut (a sudden change of the whole
picture) closes every track. Offline: pieces of the same person separated by a gap are re-linked by position,
size and an appearance descriptor (a colour histogram of the face). Across a shot cut (where another light may
change the colours) and where the colours are unsure, the faces decide: dlib's descriptors of the last face of
one piece and the first of the next, computed only for those pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.faces.types import Detections, iou_matrix

FACE_SAME = 0.5
"""Face descriptors closer than this are one person (the default ``subjects.threshold``)."""
AMBIGUOUS = 0.5
"""Without a cut, colour similarity from which the faces are asked (below it, two pieces are never one person)."""


@dataclass
class FacePatch:
    """A face and its surroundings cut from one frame (enough for its descriptor later), in patch pixels."""

    patch: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray


def face_patch(rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> FacePatch:
    """The face with half its size around it on every side."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    pad = 0.5 * max(x2 - x1, y2 - y1)
    a, b = int(max(0, x1 - pad)), int(max(0, y1 - pad))
    c, d = int(min(w, x2 + pad + 1)), int(min(h, y2 + pad + 1))
    off = np.array([a, b], np.float32)
    return FacePatch(np.ascontiguousarray(rgb[b:d, a:c]), np.asarray(box, np.float32) - np.tile(off, 2),
                     np.asarray(landmarks, np.float32) - off)


def appearance(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A unit-norm hue-saturation histogram of the face box (cheap, robust to small pose changes)."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(w, max(x2, x1 + 2)), min(h, max(y2, y1 + 2))
    patch = rgb[y1:y2, x1:x2]
    if patch.size == 0:
        return np.zeros(64, np.float32)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [8, 8], [0, 180, 0, 256]).ravel().astype(np.float32)
    return hist / max(float(np.linalg.norm(hist)), 1e-6)


def frame_signature(rgb: np.ndarray) -> np.ndarray:
    """A small grey thumbnail histogram used to detect shot cuts."""
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([small], [0], None, [32], [0, 256]).ravel().astype(np.float32)
    return hist / max(float(hist.sum()), 1e-6)


def is_cut(prev: np.ndarray | None, cur: np.ndarray, threshold: float = 0.5) -> bool:
    """True when the grey-level histograms of two consecutive frames differ by more than ``threshold`` (L1/2)."""
    return prev is not None and 0.5 * float(np.abs(prev - cur).sum()) > threshold


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    last_frame: int = 0
    misses: int = 0
    descriptor: np.ndarray | None = None

    def predicted(self, frame: int) -> np.ndarray:
        return self.box + self.velocity * (frame - self.last_frame)


class Tracker:
    """Online tracker; call :meth:`update` once per frame in order, then :meth:`relink` at the end."""

    def __init__(self, coast: int = 5, max_gap: int = 90, min_iou: float = 0.2):
        self.coast = coast
        self.max_gap = max_gap
        self.min_iou = min_iou
        self.tracks: list[_Track] = []
        self.closed: list[_Track] = []
        self.next_id = 0
        self.descriptors: dict[int, list[np.ndarray]] = {}
        self.spans: dict[int, tuple[int, int]] = {}
        self.cut_frames: list[int] = []
        self.first_face: dict[int, FacePatch] = {}
        self.last_face: dict[int, FacePatch] = {}
        self._faces: dict[tuple[int, str], np.ndarray | None] = {}

    def remember_face(self, track_id: int, rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> None:
        """A detected face of ``track_id``: its first is kept, and its latest."""
        patch = face_patch(rgb, box, landmarks)
        self.first_face.setdefault(track_id, patch)
        self.last_face[track_id] = patch

    def _face(self, track_id: int, end: str) -> np.ndarray | None:
        """The descriptor of a track's first or last face (None without one, or without dlib)."""
        key = (track_id, end)
        if key not in self._faces:
            p = (self.first_face if end == "first" else self.last_face).get(track_id)
            self._faces[key] = None
            if p is not None and len(p.landmarks) >= 5:
                from affcurate.identity.model import describe_faces

                try:
                    self._faces[key] = describe_faces(p.patch, p.box[None], p.landmarks[None])[0]
                except AffcurateError:  # the identity model is not installed: the colours decide alone
                    pass
        return self._faces[key]

    def face_distance(self, a: int, b: int) -> float | None:
        """Descriptor distance between the last face of track ``a`` and the first of ``b``."""
        fa, fb = self._face(a, "last"), self._face(b, "first")
        return None if fa is None or fb is None else float(np.linalg.norm(fa - fb))

    def cut(self, frame: int) -> None:
        """A shot cut before ``frame``: every live track ends."""
        self.closed.extend(self.tracks)
        self.tracks = []
        self.cut_frames.append(frame)

    def update(self, frame: int, dets: Detections, detected: np.ndarray | None = None,
               descriptors: list[np.ndarray] | None = None) -> list[int]:
        """Assign this frame's detections to tracks; return the track id of each detection."""
        n = len(dets)
        detected = np.ones(n, bool) if detected is None else detected
        ids = [-1] * n
        if self.tracks and n:
            pred = np.stack([t.predicted(frame) for t in self.tracks])
            iou = iou_matrix(pred, dets.boxes)
            pc = np.stack([(pred[:, 0] + pred[:, 2]) / 2, (pred[:, 1] + pred[:, 3]) / 2], 1)
            ps = np.sqrt(np.maximum((pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1]), 1))
            dist = np.linalg.norm(pc[:, None] - dets.centres[None], axis=2) / ps[:, None]
            cost = (1 - iou) + 0.5 * np.minimum(dist, 2)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if iou[r, c] >= self.min_iou or dist[r, c] < 0.5:
                    t = self.tracks[r]
                    gap = max(frame - t.last_frame, 1)
                    new_v = (dets.boxes[c] - t.box) / gap
                    t.velocity = 0.6 * t.velocity + 0.4 * new_v
                    t.box = dets.boxes[c].astype(np.float32)
                    t.last_frame = frame
                    t.misses = 0
                    ids[c] = t.track_id
        for i in range(n):
            if ids[i] == -1:
                t = _Track(self.next_id, dets.boxes[i].astype(np.float32), last_frame=frame)
                self.next_id += 1
                self.tracks.append(t)
                ids[i] = t.track_id
        matched = set(ids)
        still = []
        for t in self.tracks:
            if t.track_id not in matched:
                t.misses += 1
                if t.misses > self.coast:
                    self.closed.append(t)
                    continue
            still.append(t)
        self.tracks = still
        for i, tid in enumerate(ids):
            lo, hi = self.spans.get(tid, (frame, frame))
            self.spans[tid] = (min(lo, frame), max(hi, frame))
            if descriptors is not None and detected[i]:
                self.descriptors.setdefault(tid, []).append(descriptors[i])
        return ids

    def coasting(self, frame: int) -> list[tuple[int, np.ndarray]]:
        """Tracks missed at ``frame`` that still coast: (track id, predicted box)."""
        return [(t.track_id, t.predicted(frame)) for t in self.tracks if t.misses > 0 and t.last_frame < frame]

    def relink(self, boxes_by_track: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, int]:
        """Merge tracks that are the same person after a gap. ``boxes_by_track`` gives, per track, its first
        and last box. Returns a mapping old id -> new id (the earliest piece's id)."""
        ids = sorted(self.spans, key=lambda t: self.spans[t][0])
        desc = {t: _mean_unit(self.descriptors.get(t)) for t in ids}
        parent = {t: t for t in ids}

        def root(t: int) -> int:
            while parent[t] != t:
                t = parent[t]
            return t

        tail = {t: t for t in ids}  # the last piece of each chain
        for b in ids:
            start_b = self.spans[b][0]
            best, best_cost = None, np.inf
            for a in ids:
                ra = root(a)
                if ra == root(b) or tail[ra] != a:
                    continue
                end_a = self.spans[a][1]
                gap = start_b - end_a
                if gap <= 0 or gap > self.max_gap:
                    continue
                crossed_cut = any(end_a < c <= start_b for c in self.cut_frames)
                last_a, first_b = boxes_by_track[a][1], boxes_by_track[b][0]
                sa = np.sqrt(max((last_a[2] - last_a[0]) * (last_a[3] - last_a[1]), 1))
                sb = np.sqrt(max((first_b[2] - first_b[0]) * (first_b[3] - first_b[1]), 1))
                size_ratio = max(sa, sb) / min(sa, sb)
                ca = np.array([(last_a[0] + last_a[2]) / 2, (last_a[1] + last_a[3]) / 2])
                cb = np.array([(first_b[0] + first_b[2]) / 2, (first_b[1] + first_b[3]) / 2])
                dist = float(np.linalg.norm(ca - cb)) / sa
                sim = float(desc[a] @ desc[b]) if desc[a] is not None and desc[b] is not None else 0.0
                if size_ratio > 1.6 or (not crossed_cut and dist > 1.5):
                    continue
                # across a cut, position says nothing and another light changes the colours: the faces decide
                # when they can; without a cut, colours and position, and the faces where colours are unsure
                d = self.face_distance(a, b) if crossed_cut or AMBIGUOUS <= sim < 0.75 else None
                if d is not None:
                    if d >= FACE_SAME:
                        continue
                    cost = d + (0 if crossed_cut else 0.2 * dist)
                elif sim < (0.9 if crossed_cut else 0.75):
                    continue
                else:
                    cost = (1 - sim) + (0 if crossed_cut else 0.2 * dist)
                if cost < best_cost:
                    best, best_cost = a, cost
            if best is not None:
                rb, ra = root(b), root(best)
                parent[rb] = ra
                tail[ra] = tail[rb]
        return {t: root(t) for t in ids}


def _mean_unit(vs: list[np.ndarray] | None) -> np.ndarray | None:
    if not vs:
        return None
    m = np.mean(vs, axis=0)
    return m / max(float(np.linalg.norm(m)), 1e-6)


def link_tracks(raw: FaceTracks, tracker: Tracker) -> tuple[FaceTracks, np.ndarray]:
    """``raw`` (the detection pass's faces, in the order their crops were kept) in frame order, with the pieces
    of one person re-linked by ``tracker`` and the tracks numbered 0..n-1 in order of appearance (small and stable
    for the same video and settings); and, per face, its row in ``raw``."""
    order = np.lexsort((raw.track_id, raw.frame))
    if len(order) == 0:
        return raw, order
    tid, boxes = raw.track_id[order], raw.boxes[order]
    pieces, first = np.unique(tid, return_index=True)
    last = len(tid) - 1 - np.unique(tid[::-1], return_index=True)[1]
    mapping = tracker.relink({int(t): (boxes[a], boxes[b]) for t, a, b in zip(pieces, first, last, strict=True)})
    linked = np.array([mapping[int(t)] for t in pieces], np.int64)[np.searchsorted(pieces, tid)]
    _, appears, which = np.unique(linked, return_index=True, return_inverse=True)
    renumbered = np.argsort(np.argsort(appears, kind="stable"), kind="stable")[which]
    # a carried box of one piece may overlap the start of the next: keep the detected face
    frame, detected = raw.frame[order], raw.detected[order]
    again = np.lexsort((~detected, renumbered, frame))
    f, t = frame[again], renumbered[again]
    keep = np.ones(len(again), bool)
    keep[1:] = (f[1:] != f[:-1]) | (t[1:] != t[:-1])
    rows = order[again][keep]
    return replace(raw.select(rows), track_id=t[keep].astype(np.int64)), rows
