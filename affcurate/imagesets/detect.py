"""Batched face detection sized for still images, and the choice of each image's subject.

Each image is letterboxed into a square of ``FIRST_SIZE`` pixels and a batch of them goes through the detector
in one call: image sets such as AffectNet, RAF-DB or FER are roughly face crops already, so the face fills most
of the image and a small input finds it. Images where nothing is found at that size are detected again at the
workspace's ``faces.detect_size`` (a small face in a large picture). Boxes and landmarks are returned in pixels
of the decoded image. A backend without a batched session (blazeface, fan) is called image by image.
"""

from __future__ import annotations

import cv2
import numpy as np

from affcurate.faces.detectors import Detector, _order_five
from affcurate.faces.types import Detections

FIRST_SIZE = 128
"""The detector's input side on the first pass (a multiple of 32)."""


def _letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((side, side, 3), np.uint8)
    canvas[:nh, :nw] = small
    return canvas, scale


def _decode_centerface(outputs: list[np.ndarray], b: int, side: int, min_score: float) -> Detections:
    """Image ``b`` of a batched CenterFace run, in pixels of the letterboxed input (as CenterFace.__call__)."""
    heat, size, offset, lms = (o[b] for o in outputs)
    ys, xs = np.nonzero(heat[0] > min_score)
    if len(ys) == 0:
        return Detections.empty()
    s0, s1 = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    x1 = np.clip((xs + offset[1, ys, xs] + 0.5) * 4 - s1 / 2, 0, side)
    y1 = np.clip((ys + offset[0, ys, xs] + 0.5) * 4 - s0 / 2, 0, side)
    x2, y2 = np.minimum(x1 + s1, side), np.minimum(y1 + s0, side)
    scores = heat[0, ys, xs]
    lx = lms[1::2, ys, xs].T * s1[:, None] + x1[:, None]
    ly = lms[0::2, ys, xs].T * s0[:, None] + y1[:, None]
    boxes = np.stack([x1, y1, x2, y2], 1)
    keep = cv2.dnn.NMSBoxes([[float(a), float(c), float(e - a), float(d - c)] for a, c, e, d in boxes],
                            scores.astype(float).tolist(), min_score, 0.3)
    keep = np.asarray(keep, dtype=int).reshape(-1)
    land = np.stack([lx[keep], ly[keep]], -1).astype(np.float32)
    return Detections(boxes[keep].astype(np.float32), scores[keep].astype(np.float32), _order_five(land))


def _scaled(d: Detections, scale: float) -> Detections:
    return Detections(d.boxes / scale, d.scores, d.landmarks / scale) if len(d) else d


def detect_batch(detector: Detector, images: list[np.ndarray], side: int, min_face: int) -> list[Detections]:
    """The faces of every image (pixels of that image), found at an input of ``side`` pixels."""
    if not images:
        return []
    session = getattr(detector, "session", None)
    if session is None:  # a backend without a batched ONNX session: one call per image
        return [_kept(d, min_face) for d in map(detector, images)]
    boxed = [_letterbox(img, side) for img in images]
    blob = np.ascontiguousarray(np.stack([c for c, _ in boxed]).transpose(0, 3, 1, 2), dtype=np.float32)
    outputs = session.run(None, {detector.input_name: blob})
    out = []
    for b, (_, scale) in enumerate(boxed):
        out.append(_kept(_scaled(_decode_centerface(outputs, b, side, detector.min_score), scale), min_face))
    return out


def _kept(d: Detections, min_face: int) -> Detections:
    return d.select(d.sizes >= min_face) if len(d) else d


def detect_images(detector: Detector, images: list[np.ndarray], detect_size: int, min_face: int) -> list[Detections]:
    """Faces of each image: a batched first pass at :data:`FIRST_SIZE`, then the workspace's ``detect_size``
    for the images where it found none."""
    found = detect_batch(detector, images, FIRST_SIZE, min_face)
    side = max(32, int(np.ceil(detect_size / 32) * 32))
    missed = [i for i, d in enumerate(found) if len(d) == 0 and max(images[i].shape[:2]) > FIRST_SIZE]
    if missed and side > FIRST_SIZE:
        for i, d in zip(missed, detect_batch(detector, [images[i] for i in missed], side, min_face), strict=True):
            found[i] = d
    return found


def subject_order(d: Detections, width: int, height: int) -> np.ndarray:
    """The faces of one image, the subject first: the largest, most central and most confident face."""
    if len(d) == 0:
        return np.zeros(0, int)
    c = d.centres
    off = np.hypot(c[:, 0] / width - 0.5, c[:, 1] / height - 0.5) / np.hypot(0.5, 0.5)
    merit = d.sizes * (1.0 - 0.5 * off) * d.scores
    return np.argsort(-merit, kind="stable")
