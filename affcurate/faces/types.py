"""The one detection type every backend produces and the tracker, the detection pass and the faces table consume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def check_array(owner: str, name: str, arr: object, shape: tuple[int | None, ...], kind: str) -> None:
    """Raise ``ValueError`` unless ``arr`` is an ndarray of ``shape`` (None: any length there) whose dtype kind is
    one of ``kind`` (numpy's codes: ``f`` float, ``i``/``u`` integer, ``b`` bool)."""
    got = getattr(arr, "shape", None)
    if (not isinstance(arr, np.ndarray) or len(got) != len(shape)
            or any(want is not None and want != have for want, have in zip(shape, got, strict=True))):
        want = "(" + ", ".join("K" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{owner}.{name}: expected an array of shape {want}, got {got or type(arr).__name__}")
    if arr.dtype.kind not in kind:
        raise ValueError(f"{owner}.{name}: expected dtype kind {kind!r}, got {arr.dtype}")


@dataclass
class Detections:
    """Faces found in one frame: ``boxes (N, 4)`` as x1, y1, x2, y2 pixels, ``scores (N,)``, ``landmarks
    (N, K, 2)`` (K = 5: left eye, right eye, nose, left and right mouth corner, left meaning smaller x; or 68)
    and, once tracked, ``track_ids (N,)``. The arrays are checked once, here."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.boxes) if isinstance(self.boxes, np.ndarray) and self.boxes.ndim else 0
        check_array("Detections", "boxes", self.boxes, (n, 4), "f")
        check_array("Detections", "scores", self.scores, (n,), "f")
        check_array("Detections", "landmarks", self.landmarks, (n, None, 2), "f")
        if self.track_ids is not None:
            check_array("Detections", "track_ids", self.track_ids, (n,), "iu")

    @classmethod
    def empty(cls, k: int = 5) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, k, 2), np.float32))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def select(self, keep: np.ndarray) -> Detections:
        return Detections(self.boxes[keep], self.scores[keep], self.landmarks[keep],
                          None if self.track_ids is None else self.track_ids[keep])

    def with_tracks(self, track_ids: np.ndarray | list[int]) -> Detections:
        """The same faces with their track ids."""
        return Detections(self.boxes, self.scores, self.landmarks, np.asarray(track_ids, np.int64).reshape(-1))

    @property
    def centres(self) -> np.ndarray:
        return np.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2, (self.boxes[:, 1] + self.boxes[:, 3]) / 2], 1)

    @property
    def sizes(self) -> np.ndarray:
        """Geometric mean of box width and height."""
        w = np.maximum(self.boxes[:, 2] - self.boxes[:, 0], 1e-3)
        h = np.maximum(self.boxes[:, 3] - self.boxes[:, 1], 1e-3)
        return np.sqrt(w * h)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)
