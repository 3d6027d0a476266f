"""The identity model: dlib's face recognition ResNet (128-d descriptors) and its 5-point shape predictor, with
the weights that ship inside the ``face-recognition-models`` package (nothing is downloaded at run time).

Alignment is dlib's own: its 5-point shape predictor runs inside our face box, and ``dlib.get_face_chip``
cuts the 150×150 chip the network was trained on. When the predictor's eyes disagree with the faces stage's
landmarks (a box dlib did not expect), the five points are built from our landmarks instead.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from affcurate.errors import AffcurateError

MODEL_ID = "dlib_face_recognition_resnet_model_v1+shape_predictor_5"
"""Part of every descriptor's ledger key: another model makes other descriptors."""
CHIP = 150
PADDING = 0.25
_WEIGHTS = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


def weights_dir() -> Path:
    """The folder of dlib's weights inside the installed ``face-recognition-models`` package.

    The package is found, not imported: its ``__init__`` needs ``pkg_resources``, which new setuptools lack."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise AffcurateError("face identities need the face-recognition-models package: "
                             "pip install face-recognition-models (or `make install`)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [w for w in _WEIGHTS if not (folder / w).is_file()]
    if missing:
        raise AffcurateError(f"{folder}: the face-recognition-models package lacks {', '.join(missing)}; "
                             "reinstall it")
    return folder


@cache
def models() -> tuple[Any, Any]:
    """(shape predictor, face recognition network), loaded once per process."""
    try:
        import dlib
    except ImportError:
        raise AffcurateError("face identities need dlib: pip install dlib-bin (or `make install`)") from None
    folder = weights_dir()
    return (dlib.shape_predictor(str(folder / _WEIGHTS[0])), dlib.face_recognition_model_v1(str(folder / _WEIGHTS[1])))


def _points_from_landmarks(lm: np.ndarray) -> np.ndarray:
    """dlib's five points (image-right eye outer and inner corner, image-left eye outer and inner, base of the
    nose) from our five (left eye, right eye, nose tip, mouth corners) by the proportions of dlib's own
    predictor on the sample media."""
    left, right, nose = lm[0], lm[1], lm[2]
    if left[0] > right[0]:
        left, right = right, left
    d = right - left
    down = np.array([-d[1], d[0]])  # perpendicular to the eye line, towards the mouth
    return np.array([right + 0.21 * d, right - 0.21 * d, left - 0.21 * d, left + 0.21 * d, nose + 0.19 * down])


def shape_in_box(rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> tuple[Any, str]:
    """dlib's five points of the face in ``box``: from its predictor, or from our landmarks when the predictor's
    eye centres are off ours by more than a third of the eye distance. Returns (full_object_detection, how)."""
    import dlib

    predictor, _ = models()
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    rect = dlib.rectangle(x1, y1, x2, y2)
    shape = predictor(rgb, rect)
    pts = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    if len(landmarks) != 5:
        return shape, "dlib5"
    ours = np.asarray(landmarks[:2], np.float64)
    ours = ours[np.argsort(ours[:, 0], kind="stable")]  # image-left eye first, like theirs
    theirs = np.stack([pts[2:4].mean(0), pts[0:2].mean(0)])
    eye = float(np.hypot(*(ours[1] - ours[0]))) or 1.0
    if np.hypot(*(theirs - ours).T).max() > eye / 3:
        made = _points_from_landmarks(np.asarray(landmarks, np.float64))
        shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in made])
        return shape, "landmarks"
    return shape, "dlib5"


def chip(rgb: np.ndarray, shape: Any) -> np.ndarray:
    """The aligned 150×150 RGB chip dlib's network expects."""
    import dlib

    return dlib.get_face_chip(np.ascontiguousarray(rgb), shape, size=CHIP, padding=PADDING)


def descriptors(chips: list[np.ndarray]) -> np.ndarray:
    """(N, 128) float32 descriptors of aligned chips, in one batch."""
    if not chips:
        return np.zeros((0, 128), np.float32)
    _, net = models()
    return np.asarray([np.asarray(v) for v in net.compute_face_descriptor(chips)], np.float32).reshape(-1, 128)


def describe_faces(rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(N, 128) descriptors of the faces in ``boxes`` (N, 4) of one RGB frame, with their landmarks (N, K, 2;
    five or 68 points): dlib's alignment and network, one batch (about 25 ms a face on one core)."""
    from affcurate.identity.frames import five_points

    points = five_points(np.asarray(landmarks, np.float64))
    return descriptors([chip(rgb, shape_in_box(rgb, b, p)[0]) for b, p in zip(boxes, points, strict=True)])
