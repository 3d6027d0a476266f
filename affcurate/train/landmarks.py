"""dlib's 68 facial landmarks of each aligned crop, normalised, for the linear baseline.

dlib's shape predictor (``shape_predictor_68_face_landmarks.dat``, shipped in the ``face-recognition-models``
package and found as the identity model finds its weights) runs on the **aligned crop itself**
(``crops/<id>.h5``), not on the video frame: the crops are already cut and aligned, so no video is decoded. The
predictor is given the box where dlib's frontal face detector finds the face of the alignment template
(:data:`BOX_112`, measured on the sample crops and scaled with the crop size), on the crop upscaled twice (half
a pixel of precision at the same cost: the predictor reads a fixed set of pixels, whatever the image size).

The features are the 68 points normalised: translation (the eyes' midpoint at the origin), rotation (the eye
line horizontal) and scale (the eye distance 1) free, 136 numbers per crop. The mirrored face's are those of
the mirrored points, renumbered by :data:`MIRROR_68`.

The points of a video are kept in ``runs/<run>/_landmarks/<video>.npz`` (:data:`FOLDER`: no baseline can be
named so) keyed by the crops' content hash: the folds of a run and a resumed run compute each crop once, and
`affcurate predict` reads them (the points of crops the run has not seen are computed, not kept: its workers
only read).
"""

from __future__ import annotations

import io as _bytes
import time
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.identity.model import weights_dir
from affcurate.media.probe import file_sha256
from affcurate.workspace import Workspace, stage_key

PREDICTOR = "shape_predictor_68_face_landmarks.dat"
BOX_112 = (12, 29, 96, 112)  # left, top, right, bottom of the face box in a 112-px aligned crop
UPSCALE = 2
KEY = (PREDICTOR, BOX_112, UPSCALE, 1)  # what the points depend on besides the crops
N_POINTS = 68
N_FEATURES = 2 * N_POINTS
FOLDER = "_landmarks"  # in the run folder; names of baselines (and so of their folders) start with a letter or digit


def _mirror_68() -> np.ndarray:
    """Index i of the mirrored face is point ``perm[i]`` of the face (iBUG 300-W numbering)."""
    perm = np.arange(N_POINTS)
    pairs = [(i, 16 - i) for i in range(8)]                       # jaw line
    pairs += [(17 + k, 26 - k) for k in range(5)]                 # brows
    pairs += [(31, 35), (32, 34)]                                 # base of the nose
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]   # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]                       # inner lips
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


MIRROR_68 = _mirror_68()


@cache
def predictor() -> Any:
    """dlib's 68-point shape predictor, loaded once per process."""
    try:
        import dlib
    except ImportError:
        raise AffcurateError("the linear baseline's landmarks need dlib: pip install dlib-bin (or `make install`)") from None
    path = weights_dir() / PREDICTOR
    if not path.is_file():
        raise AffcurateError(f"{path.parent}: the face-recognition-models package lacks {PREDICTOR}; reinstall it")
    return dlib.shape_predictor(str(path))


def crop_points(crops: np.ndarray) -> np.ndarray:
    """(N, 68, 2) points, in crop pixels, of aligned crops (N×S×S×3 uint8 RGB)."""
    pred = predictor()  # first: a missing dlib is one line there
    import dlib

    n = len(crops)
    out = np.zeros((n, N_POINTS, 2), np.float32)
    if not n:
        return out
    size = crops.shape[1]
    k = UPSCALE * size / 112.0
    rect = dlib.rectangle(*(int(round(v * k)) for v in BOX_112))
    big = UPSCALE * size
    for i in range(n):
        img = cv2.resize(crops[i], (big, big), interpolation=cv2.INTER_LINEAR)
        shape = pred(img, rect)
        out[i] = [(p.x, p.y) for p in shape.parts()]
    return out / UPSCALE


def normalise(points: np.ndarray, mirror: bool = False) -> np.ndarray:
    """(N, 136) features of (N, 68, 2) points: eyes' midpoint at 0, eye line horizontal, eye distance 1;
    ``mirror``: of the face mirrored left to right."""
    p = np.asarray(points, np.float64).copy()
    if mirror:
        p[..., 0] = -p[..., 0]
        p = p[:, MIRROR_68]
    left, right = p[:, 36:42].mean(1), p[:, 42:48].mean(1)  # eyes on the image's left and right
    d = right - left
    dist = np.maximum(np.linalg.norm(d, axis=1), 1e-6)
    cos, sin = d[:, 0] / dist, d[:, 1] / dist
    q = p - (left + right)[:, None] / 2
    rotated = np.stack([q[..., 0] * cos[:, None] + q[..., 1] * sin[:, None],
                        -q[..., 0] * sin[:, None] + q[..., 1] * cos[:, None]], -1)
    return (rotated / dist[:, None, None]).reshape(len(p), N_FEATURES).astype(np.float32)


def run_folder(ws: Workspace, out: Path) -> Path | None:
    """The run folder (``runs/<run>``) a baseline's folder ``out`` lies in, if any."""
    runs = ws.runs_dir.resolve()
    for p in Path(out).resolve().parents:
        if p.parent == runs:
            return p
    return None


class Landmarks:
    """The points of every crop of a video, from the cache in ``cache`` (a folder, or None: no cache) or dlib.
    ``write``: store what was computed (a fit writes; a pre-labelling worker only reads). ``timing`` counts the
    crops computed and from the cache, and the seconds spent computing."""

    def __init__(self, cache: Path | None, write: bool):
        self.cache, self.write = cache, write
        self.timing = {"seconds": 0.0, "crops": 0, "cached": 0}
        self._recent: dict[tuple[str, str], np.ndarray] = {}  # a face and its mirror image are asked in turn

    def of_video(self, ws: Workspace, video_id: str) -> np.ndarray:
        crops_path = ws.crops_path(video_id)
        key = stage_key(KEY, file_sha256(crops_path))
        if (video_id, key) in self._recent:
            return self._recent[(video_id, key)]
        points = self._read_or_compute(ws, video_id, key)
        if len(self._recent) >= 4:
            self._recent.pop(next(iter(self._recent)))
        self._recent[(video_id, key)] = points
        return points

    def _read_or_compute(self, ws: Workspace, video_id: str, key: str) -> np.ndarray:
        crops_path = ws.crops_path(video_id)
        path = None if self.cache is None else self.cache / f"{video_id}.npz"
        points = _cached(path, key) if path is not None else None
        if points is not None:
            self.timing["cached"] += len(points)
            return points
        t0 = time.perf_counter()
        with h5py.File(crops_path, "r") as h5:
            crops = h5["crops"]  # a block at a time: a long video's crops need not fit in memory
            parts = [crop_points(crops[i:i + 512]) for i in range(0, len(crops), 512)]
        points = np.concatenate(parts) if parts else np.zeros((0, N_POINTS, 2), np.float32)
        self.timing["seconds"] += time.perf_counter() - t0
        self.timing["crops"] += len(points)
        if path is not None and self.write:
            buf = _bytes.BytesIO()
            np.savez(buf, key=np.asarray(key), points=points)
            io.write_bytes(path, buf.getvalue())
        return points

    def features(self, ws: Workspace, table: Any, mirror: bool = False) -> np.ndarray:
        """(len(table), 136) normalised points of the crops of ``table`` (an Index's video_id and crop)."""
        out = np.zeros((len(table), N_FEATURES), np.float32)
        for vid, rows in table.groupby("video_id", sort=False).groups.items():
            points = self.of_video(ws, vid)
            out[np.asarray(rows)] = normalise(points[table.loc[rows, "crop"].to_numpy()], mirror)
        return out

    def describe(self) -> dict[str, Any]:
        tm = self.timing
        ms = 1000 * tm["seconds"] / tm["crops"] if tm["crops"] else None
        return {"predictor": PREDICTOR, "on": "aligned crops", "crops_computed": tm["crops"],
                "crops_from_cache": tm["cached"], "ms_per_crop": None if ms is None else round(ms, 3)}


def _cached(path: Path, key: str) -> np.ndarray | None:
    """The points cached in ``path`` for ``key``; None when there are none (a damaged file is computed again and
    replaced)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["points"] if str(z["key"]) == key else None
    except (OSError, ValueError, KeyError):
        return None
