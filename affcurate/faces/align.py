"""Alignment: a similarity transform of the face onto a canonical template, and the crop it gives."""

from __future__ import annotations

import cv2
import numpy as np

from affcurate.errors import AffcurateError

# Canonical 5-point positions in a 112×112 crop (eyes, nose tip, mouth corners), the layout of the aligned
# crops of the ABAW challenges and of most face-analysis toolkits.
TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float64,
)
ALIGN_METHODS = ("five-point", "eye-line")


def template(size: int) -> np.ndarray:
    """The 5-point template scaled to a ``size``×``size`` crop."""
    return TEMPLATE_112 * (size / 112.0)


# The eyes move least with expression (the mouth moves most), so they weigh most in the fit.
FIVE_POINT_WEIGHTS = np.array([3.0, 3.0, 1.0, 0.5, 0.5])


def similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares similarity transform (rotation, uniform scale, translation) mapping ``src``
    onto ``dst`` (Umeyama's method); returns a 2×3 matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var_s = (w[:, None] * s**2).sum()
    scale = (sig * sign).sum() / max(var_s, 1e-12)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right eye centres from 5 points (the first two) or 68 points (means of 36-41 and 42-47)."""
    lm = np.asarray(landmarks, np.float64)
    if len(lm) >= 68:
        a, b = lm[36:42].mean(0), lm[42:48].mean(0)
    else:
        a, b = lm[0], lm[1]
    return (a, b) if a[0] <= b[0] else (b, a)


def eye_line_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Seed 002 §3.1: rotate so that the eye line is horizontal, scale to a fixed eye distance, and put the
    eyes' midpoint at the template's position."""
    left, right = eye_centres(landmarks)
    t = template(size)
    eye_y = (t[0, 1] + t[1, 1]) / 2
    dst_left, dst_right = np.array([t[0, 0], eye_y]), np.array([t[1, 0], eye_y])
    return similarity(np.stack([left, right]), np.stack([dst_left, dst_right]))


def align_matrix(landmarks: np.ndarray, size: int, method: str = "five-point") -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    if method == "eye-line":
        return eye_line_matrix(lm, size)
    if method != "five-point":
        raise AffcurateError(f"unknown alignment {method!r}: expected one of {', '.join(ALIGN_METHODS)}")
    if len(lm) >= 68:  # 68 points: reduce to the 5 of the template
        left, right = eye_centres(lm)
        lm = np.stack([left, right, lm[30], lm[48], lm[54]])
    return similarity(lm[:5], template(size), FIVE_POINT_WEIGHTS)


def aligned_crop(rgb: np.ndarray, landmarks: np.ndarray, size: int = 112, method: str = "five-point") -> np.ndarray:
    """The ``size``×``size`` aligned crop (RGB uint8) of the face with these landmarks."""
    m = align_matrix(landmarks, size, method)
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def transform_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]
