"""Putting one annotation onto the workspace's constant-fps grid through the video's frame map.

Continuous values (valence, arousal, AU intensity) are interpolated linearly in time; discrete ones (AU
presence, expression) take the value in force at that moment; intervals are expanded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.labels.model import Annotation

CONTINUOUS_SUFFIX = "_intensity"


@dataclass
class GridContext:
    """What the grid of one video looks like: its frame map, the grid fps and the source's facts."""

    frame_map: pd.DataFrame
    fps: float
    src_fps: float | None
    src_frames: int
    duration: float

    @property
    def n(self) -> int:
        return len(self.frame_map)


@dataclass
class Resampled:
    values: dict[str, np.ndarray]  # column -> float array on the grid, NaN where missing
    length_fix: int = 0
    """Samples the labels were longer (+) or shorter (-) than the video, fixed within the tolerance."""


def _queries(a: Annotation, g: GridContext) -> np.ndarray:
    fm = g.frame_map
    if a.clock == "grid":
        if a.time_base == "time":
            return fm["time"].to_numpy(np.float64)
        if a.fps is None or abs(a.fps - g.fps) < 1e-6:
            return fm["frame"].to_numpy(np.float64)
        return fm["time"].to_numpy(np.float64) * a.fps
    if a.time_base == "time":
        return fm["src_time"].to_numpy(np.float64)
    if g.src_fps and a.fps and abs(a.fps - g.src_fps) / g.src_fps < 1e-3:
        return fm["src_frame"].to_numpy(np.float64)  # exact, also for variable-rate sources
    return fm["src_time"].to_numpy(np.float64) * float(a.fps)


def _expected_length(a: Annotation, g: GridContext) -> float:
    if a.time_base == "time":
        return g.duration if a.clock == "source" else g.n / g.fps
    if a.clock == "grid":
        return g.n if a.fps is None else g.n / g.fps * a.fps
    if g.src_fps and a.fps and abs(a.fps - g.src_fps) / g.src_fps < 1e-3:
        return g.src_frames
    return g.duration * float(a.fps)


def to_grid(a: Annotation, g: GridContext, columns: list[str], tolerance: int) -> Resampled:
    """Values of ``columns`` on the grid. A ``complete`` annotation whose length differs from the video's by
    more than ``tolerance`` samples raises :class:`AffcurateError`; within it, it is extended or cropped."""
    x = _queries(a, g)
    df = a.data
    out: dict[str, np.ndarray] = {}
    fix = 0
    if a.shape == "intervals":
        starts = df["start"].to_numpy(np.float64)
        ends = df["end"].to_numpy(np.float64)
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        idx = np.searchsorted(starts, x + 1e-9, side="right") - 1
        inside = (idx >= 0) & (x <= ends[np.clip(idx, 0, None)] + 1e-9)
        for c in columns:
            if c not in df.columns:
                continue
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)[order]
            res = np.where(inside, v[np.clip(idx, 0, None)], np.nan)
            if a.complete and a.task == "au" and not c.endswith(CONTINUOUS_SUFFIX):
                res = np.where(inside, res, 0.0)  # an AU not marked is absent when the whole video was seen
            out[c] = res
        return Resampled(out, 0)

    p = df[a.position_columns()[0]].to_numpy(np.float64)
    if len(p) == 0:
        return Resampled({c: np.full(g.n, np.nan) for c in columns if c in df.columns}, 0)
    period = 1.0 if a.time_base == "frame" else (float(np.median(np.diff(p))) if len(p) > 1 else 1.0 / g.fps)
    lo, hi = p[0], p[-1]
    if a.complete:
        label_len = (p[-1] + period) if a.time_base == "frame" else (p[-1] - p[0] + period)
        expected = _expected_length(a, g)
        diff = (label_len - expected) / period
        fix = int(round(diff))
        if abs(diff) > tolerance + 0.5:
            unit = "frames" if a.time_base == "frame" else f"samples of {period:g} s"
            raise AffcurateError(
                f"{a.origin or a.video_id}: labels cover {label_len / period:.0f} {unit}, the video "
                f"{expected / period:.0f}; the difference {diff:+.0f} is beyond the tolerance ±{tolerance}")
        x = np.clip(x, lo, hi)  # extend by holding the first and last values; crop by ignoring the rest
    valid_span = (x >= lo - 0.5 * period - 1e-9) & (x <= hi + 0.5 * period + 1e-9)
    for c in columns:
        if c not in df.columns:
            continue
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        ok = ~np.isnan(v)
        pv, vv = p[ok], v[ok]
        if len(pv) == 0:
            out[c] = np.full(g.n, np.nan)
            continue
        continuous = a.task == "va" or c.endswith(CONTINUOUS_SUFFIX)
        if continuous:
            res = np.interp(x, pv, vv)
            if a.shape == "dense":
                # no interpolation across holes in dense labels (missing samples stay missing)
                j = np.clip(np.searchsorted(pv, x, side="right"), 1, len(pv) - 1) if len(pv) > 1 else None
                if j is not None:
                    gap = pv[j] - pv[j - 1]
                    res = np.where((gap > 1.5 * period) & (x > pv[j - 1] + 0.5 * period)
                                   & (x < pv[j] - 0.5 * period), np.nan, res)
        else:
            k = np.searchsorted(pv, x + 1e-9, side="right") - 1
            res = np.where(k >= 0, vv[np.clip(k, 0, None)], np.nan)
            if a.shape == "dense":
                near = (k >= 0) & (x - pv[np.clip(k, 0, None)] < period * 1.0 + 1e-9)
                res = np.where(near, res, np.nan)
        out[c] = np.where(valid_span, res, np.nan)
    return Resampled(out, fix)
