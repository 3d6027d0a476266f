"""Putting one annotation onto the workspace's constant-fps grid through the video's frame map.

A grid frame gets a value from a source only where that source gave one; nothing is carried further:

- ``dense``: a row holds from its position until the next row, or for one sample period when the next row is
  more than 1.5 periods away (a hole: the frames in it stay unlabelled) or when it is the last row. A row whose
  value is empty is a hole too. A sample period is a frame, or for a time-based table its median spacing.
- ``keyframes``: a keyframe holds until the next one, however far; the last one holds for its own frame only
  (a time-based one for its instant).
- ``intervals``: ``start``-``end`` inclusive (a frame-based ``end`` includes that whole frame); where intervals
  of one column overlap, the one that starts last wins. A ``complete`` AU table says "absent" outside them.

Discrete values (AU presence and intensity, expression) take the value in force. Valence and arousal are
interpolated linearly in time between two consecutive rows that both have a value and are neighbours (dense:
at most 1.5 periods apart; keyframes: any distance); beside a hole a row holds for its own sample only, and
nothing is extrapolated before the first row or after the last. The only exception is the length fix of a
``complete`` table: one up to ``tolerance`` samples shorter than its video is extended by holding its first
and last rows, one that is longer is cropped. Rows past the video's end by more than the tolerance are counted
and reported; they never reach the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.labels.model import Annotation

if TYPE_CHECKING:
    from affcurate.workspace import Workspace

CONTINUOUS_SUFFIX = "_intensity"
# how far two rows of a dense table may be apart (in sample periods) and still be neighbours
DENSE_MAX_GAP = 1.5


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


def grid_of(ws: Workspace, row: pd.Series | dict) -> GridContext:
    """The grid of the video of one manifest row: its frame map and the source's facts."""
    fm = ws.frame_map(row["video_id"])
    src_fps, n_src, duration = row.get("avg_fps"), row.get("n_frames"), row.get("duration")
    return GridContext(fm, ws.settings.ingest.fps, None if pd.isna(src_fps) else float(src_fps),
                       int(n_src) if not pd.isna(n_src) else len(fm),
                       float(duration) if not pd.isna(duration) else len(fm) / ws.settings.fps)


def grid_context(ws: Workspace, video_id: str) -> GridContext:
    """The 30 fps grid of one ingested video, for putting any annotation onto it with :func:`to_grid`."""
    m = ws.manifest(with_faces=False)
    rows = m[m["video_id"] == video_id]
    if rows.empty:
        raise AffcurateError(f"{video_id}: no such video in {ws.manifest_path}")
    return grid_of(ws, rows.iloc[0])


@dataclass
class Resampled:
    values: dict[str, np.ndarray]  # column -> float array on the grid, NaN where missing
    length_fix: int = 0
    """Samples the labels were longer (+) or shorter (-) than the video, fixed within the tolerance."""
    outside: int = 0
    """Rows (samples or intervals) past the video's end by more than the tolerance: left out."""
    warning: str | None = None
    """One line about ``outside``, for the merge's warnings."""


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


def _period(a: Annotation, p: np.ndarray, g: GridContext) -> float:
    """One sample of the table in its own units: a frame, or the median spacing of a time-based table."""
    if a.time_base == "frame":
        return 1.0
    if a.shape == "dense" and len(p) > 1:
        return float(np.median(np.diff(p)))
    return 1.0 / g.fps


def _outside(a: Annotation, g: GridContext, tolerance: int, period: float) -> tuple[int, str | None]:
    """Rows past the video's end by more than the tolerance, and the line that reports them."""
    end = _expected_length(a, g)
    # where each row stops: its sample, or an interval's last frame or instant
    last = a.data["end" if a.shape == "intervals" else a.position_columns()[0]].to_numpy(np.float64)
    return past_the_end(a.shape, a.time_base, last, end, tolerance, period)


def past_the_end(shape: str, time_base: str, last: np.ndarray, end: float, tolerance: int,
                 period: float) -> tuple[int, str | None]:
    """How many rows (``last``: where each stops) lie past ``end`` by more than the tolerance, and the line that
    reports them (None when none do)."""
    beyond = int((last >= end + tolerance * period - 1e-6 * period).sum())
    if not beyond:
        return 0, None
    what = ("interval" if shape == "intervals" else "sample") + ("s" if beyond > 1 else "")
    if time_base == "frame":
        past, length = f"{int(last.max() - end + 1):,} frames", f"{end:,.0f} frames"
    else:
        past, length = f"{last.max() - end:,.2f} s", f"{end:,.2f} s"
    return beyond, (f"{beyond:,} {what} past the video's end, up to {past} past its {length} "
                    f"(tolerance ±{tolerance} samples); left out")


def _intervals(a: Annotation, x: np.ndarray, columns: list[str], eps: float) -> dict[str, np.ndarray]:
    df = a.data
    order = np.argsort(x, kind="stable")
    xs = x[order]
    out: dict[str, np.ndarray] = {}
    for c in columns:
        if c not in df.columns:
            continue
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        given = ~np.isnan(v)
        starts = df["start"].to_numpy(np.float64)[given]
        ends = df["end"].to_numpy(np.float64)[given]
        v = v[given]
        by_start = np.argsort(starts, kind="stable")
        lo = np.searchsorted(xs, starts[by_start] - eps, side="left")
        if a.time_base == "frame":
            hi = np.searchsorted(xs, ends[by_start] + 1 - eps, side="left")
        else:
            hi = np.searchsorted(xs, ends[by_start] + eps, side="right")
        sorted_res = np.full(len(xs), np.nan)
        for i, j, val in zip(lo.tolist(), hi.tolist(), v[by_start].tolist(), strict=True):
            sorted_res[i:j] = val  # painted in start order: the interval that starts last wins
        res = np.empty_like(sorted_res)
        res[order] = sorted_res
        if a.complete and a.task == "au" and not c.endswith(CONTINUOUS_SUFFIX):
            res = np.where(np.isnan(res), 0.0, res)  # an AU not marked is absent when the whole video was seen
        out[c] = res
    return out


def to_grid(a: Annotation, g: GridContext, columns: list[str], tolerance: int) -> Resampled:
    """Values of ``columns`` on the grid, following the rules of this module. A ``complete`` annotation whose
    length differs from the video's by more than ``tolerance`` samples raises :class:`AffcurateError`; within
    it, it is extended or cropped."""
    x = _queries(a, g)
    df = a.data
    p = df["start" if a.shape == "intervals" else a.position_columns()[0]].to_numpy(np.float64)
    period = _period(a, p, g)
    eps = 1e-6 * period  # positions read from text and times computed from frame numbers differ by rounding
    outside, warning = _outside(a, g, tolerance, period) if len(p) else (0, None)
    if a.shape == "intervals":
        return Resampled(_intervals(a, x, columns, eps), 0, outside, warning)
    if len(p) == 0:
        return Resampled({c: np.full(g.n, np.nan) for c in columns if c in df.columns}, 0)
    fix = 0
    lo, hi = p[0], p[-1]
    if a.complete:
        label_len = (p[-1] + period) if a.time_base == "frame" else (p[-1] - p[0] + period)
        expected = _expected_length(a, g)
        diff = (label_len - expected) / period
        fix = int(round(diff))
        if abs(diff) > tolerance + 0.5:
            unit = "frames" if a.time_base == "frame" else f"samples of {period:g} s"
            raise AffcurateError(
                f"{a.where}: labels cover {label_len / period:.0f} {unit}, the video "
                f"{expected / period:.0f}; the difference {diff:+.0f} is beyond the tolerance ±{tolerance}")
        # the length fix: at most `tolerance` samples before the first row and after the last row's own sample
        before = (x < lo) & (x >= lo - tolerance * period - eps)
        after = (x >= hi + period - eps) & (x < hi + (tolerance + 1) * period - eps)
        x = np.where(before, lo, np.where(after, hi, x))
    k = np.searchsorted(p, x + eps, side="right") - 1  # the last row at or before each grid frame
    kk = np.clip(k, 0, None)
    nxt = np.minimum(kk + 1, len(p) - 1)
    gap = np.where(kk + 1 < len(p), p[nxt] - p[kk], np.inf)
    neighbours = gap <= DENSE_MAX_GAP * period + eps if a.shape == "dense" else np.isfinite(gap)
    # a row without a neighbour holds for its own sample; a time-based keyframe only for its instant
    own = period if a.time_base == "frame" or a.shape == "dense" else 0.0
    alone = (k >= 0) & ((x < p[kk] + own - eps) | (np.abs(x - p[kk]) <= eps))
    covered = alone | ((k >= 0) & neighbours)
    between = covered & neighbours & (x > p[kk] + eps)
    frac = np.where(between, (x - p[kk]) / np.where(neighbours, gap, 1.0), 0.0)
    out: dict[str, np.ndarray] = {}
    for c in columns:
        if c not in df.columns:
            continue
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if a.task == "va":
            # linear between two rows that both have a value; beside a hole only the row's own sample holds
            nv = v[nxt]
            both = between & ~np.isnan(nv)
            res = np.where(both, v[kk] + frac * (nv - v[kk]), np.where(alone, v[kk], np.nan))
        else:
            res = np.where(covered, v[kk], np.nan)
        out[c] = res
    return Resampled(out, fix, outside, warning)
