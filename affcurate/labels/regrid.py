"""Many annotation tables onto their videos' grids at once: the rules of :mod:`affcurate.labels.resample`,
with the per-table facts (period, tolerance, length fix) as columns beside the frames, so that only the search
for each frame's row is done table by table and everything else is one vectorised pass over all frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from affcurate.labels.resample import CONTINUOUS_SUFFIX, DENSE_MAX_GAP, _intervals, past_the_end
from affcurate.labels.scan import Rows, TableMeta


@dataclass
class Grids:
    """The grids of some videos: their frame maps one after the other and the facts of their sources."""

    maps: Rows
    fps: float
    src_fps: list[float | None]
    src_frames: list[int]
    duration: list[float]

    _counting: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> np.ndarray:
        return self.maps.count

    def counting(self, column: str) -> np.ndarray:
        """Per video, whether its frame map's ``column`` is 0, 1, 2, … (every frame from the first)."""
        if column not in self._counting:
            self._counting[column] = _runs_count(self.maps.columns[column], self.maps.start, self.maps.count)
        return self._counting[column]


@dataclass
class Regridded:
    """The tables' values on their grids: table ``i`` holds rows ``offset[i]`` to ``offset[i] + n`` of each
    column (NaN where it says nothing, or has no such column)."""

    values: dict[str, np.ndarray]
    offset: np.ndarray
    total: int = 0
    """Rows of every table together."""
    fixes: list[int] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    warnings: list[str | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)


@dataclass
class _Interval:  # what resample._intervals reads of an annotation
    data: pd.DataFrame
    time_base: str
    complete: bool
    task: str


def query(m: TableMeta, fps: float, src_fps: float | None) -> tuple[str, float | None]:
    """Which frame-map column holds the grid's frames (at ``fps``, of a source at ``src_fps``) in the table's
    units, and the factor to apply."""
    if m.clock == "grid":
        if m.time_base == "time":
            return "time", None
        if m.fps is None or abs(m.fps - fps) < 1e-6:
            return "frame", None
        return "time", m.fps
    if m.time_base == "time":
        return "src_time", None
    if src_fps and m.fps and abs(m.fps - src_fps) / src_fps < 1e-3:
        return "src_frame", None
    return "src_time", float(m.fps)


def _expected(m: TableMeta, g: Grids, v: int) -> float:
    n = int(g.n[v])
    if m.time_base == "time":
        return g.duration[v] if m.clock == "source" else n / g.fps
    if m.clock == "grid":
        return n if m.fps is None else n / g.fps * m.fps
    src_fps = g.src_fps[v]
    if src_fps and m.fps and abs(m.fps - src_fps) / src_fps < 1e-3:
        return g.src_frames[v]
    return g.duration[v] * float(m.fps)


def _outside(m: TableMeta, last: np.ndarray, end: float, tolerance: int, period: float) -> tuple[int, str | None]:
    return past_the_end(m.shape, m.time_base, last, end, tolerance, period)


def regrid(metas: list[TableMeta], videos: list[int], rows: Rows, g: Grids, columns: list[str],
           tolerance: int) -> Regridded:
    """The tables ``metas`` (their rows in ``rows``, table ``i`` of video ``videos[i]`` of ``g``) on the grid."""
    sizes = g.n[videos].astype(np.int64) if len(videos) else np.zeros(0, np.int64)
    offset = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    total = int(sizes.sum())
    given = [c for c in columns if c in rows.columns or metas and metas[0].task == "va"]
    out = Regridded({}, offset, total)  # a column no table has: left out
    x_all, k_all = np.zeros(total), np.full(total, -1, np.int64)
    per: dict[str, list[Any]] = {k: [] for k in ("period", "eps", "own", "dense", "pos")}
    fm = g.maps
    intervals = []
    own_rows = _own_rows(metas, videos, rows, g, sizes)
    same = bool(own_rows.all())
    for i, (m, v) in enumerate(zip(metas, videos, strict=True)):
        a, n = int(offset[i]), int(sizes[i])
        r0, rn = int(rows.start[i]), int(rows.count[i])
        if own_rows[i]:  # a row for every frame of its grid, in order: nothing to search, move or cut
            p = rows.columns["frame"][r0:r0 + rn]
            end = _expected(m, g, v)
            # its last row is frame n - 1: past the end only when that is
            beyond, warning = _outside(m, p, end, tolerance, 1.0) if n and n - 1 >= end + tolerance - 1e-6 \
                else (0, None)
            fix, error = _length(m, p, 1.0, end, tolerance) if n and m.complete else (0, None)
            _record(out, per, m, fix, beyond, warning, error, 1.0, "frame")
            if not same:
                x_all[a:a + n] = np.arange(n)
                k_all[a:a + n] = np.arange(n) + r0
            continue
        col, factor = query(m, g.fps, g.src_fps[v])
        s0 = int(fm.start[v])
        x = fm.columns[col][s0:s0 + n]
        x = x * factor if factor is not None else x
        pos = "start" if m.shape == "intervals" else ("frame" if m.time_base == "frame" else "time")
        p = rows.columns[pos][r0:r0 + rn] if pos in rows.columns else np.zeros(0)
        if m.time_base == "frame":
            period = 1.0
        elif m.shape == "dense" and len(p) > 1:
            period = float(np.median(np.diff(p)))
        else:
            period = 1.0 / g.fps
        eps = 1e-6 * period
        end = _expected(m, g, v)
        last = rows.columns["end" if m.shape == "intervals" else pos][r0:r0 + rn] if rn else p
        beyond, warning = _outside(m, last, end, tolerance, period) if rn else (0, None)
        fix, error = 0, None
        if m.shape == "intervals":
            intervals.append((i, x, eps))
        elif rn and m.complete:
            fix, error = _length(m, p, period, end, tolerance)
            lo, hi = p[0], p[-1]
            before = (x < lo) & (x >= lo - tolerance * period - eps)
            after = (x >= hi + period - eps) & (x < hi + (tolerance + 1) * period - eps)
            x = np.where(before, lo, np.where(after, hi, x))
        if m.shape != "intervals" and rn:
            x_all[a:a + n] = x
            k_all[a:a + n] = _row_at_or_before(p, x + eps) + r0
        _record(out, per, m, fix if m.shape != "intervals" else 0, beyond, warning, error, period, pos)
    if same:  # each table's rows are its frames, one after the other as the grids are
        out.values.update({c: rows.columns[c] for c in given if c in rows.columns})
    else:
        _between_rows(out, metas, rows, x_all, k_all, sizes, per, given)
    for c in given:  # what the rows said nothing of: empty, in the type the column is read in
        if c not in out.values:
            out.values[c] = np.full(total, np.nan, rows.columns[c].dtype if c in rows.columns else np.float64)
    for i, x, eps in intervals:
        _paint(out, metas[i], rows, i, x, eps, given)
    _absent_is_intensity_zero(out, metas, sizes, given)
    return out


def _length(m: TableMeta, p: np.ndarray, period: float, end: float, tolerance: int) -> tuple[int, str | None]:
    """A complete table's length against its video's: the samples to fix, or the error beyond the tolerance."""
    label_len = (p[-1] + period) if m.time_base == "frame" else (p[-1] - p[0] + period)
    diff = (label_len - end) / period
    if abs(diff) <= tolerance + 0.5:
        return int(round(diff)), None
    unit = "frames" if m.time_base == "frame" else f"samples of {period:g} s"
    return int(round(diff)), (f"{m.where}: labels cover {label_len / period:.0f} {unit}, the video "
                              f"{end / period:.0f}; the difference {diff:+.0f} is beyond the tolerance ±{tolerance}")


def _record(out: Regridded, per: dict[str, list[Any]], m: TableMeta, fix: int, beyond: int, warning: str | None,
            error: str | None, period: float, pos: str) -> None:
    """What one table's regridding found, and the facts its frames are regridded with."""
    out.fixes.append(fix)
    out.outside.append(beyond)
    out.warnings.append(warning)
    out.errors.append(error)
    own = period if m.time_base == "frame" or m.shape == "dense" else 0.0
    for key, value in (("period", period), ("eps", 1e-6 * period), ("own", own), ("dense", m.shape == "dense"),
                       ("pos", pos)):
        per[key].append(value)


def _own_rows(metas: list[TableMeta], videos: list[int], rows: Rows, g: Grids, sizes: np.ndarray) -> np.ndarray:
    """Per table, whether it has a row for every frame of its grid, in order (frame 0, 1, 2, … of a grid whose
    frames, in the table's units, are 0, 1, 2, …): its own regridding."""
    own = np.array([m.shape != "intervals" and m.time_base == "frame" for m in metas], bool)
    own &= rows.count == sizes
    if "frame" not in rows.columns or not own.any():
        return np.zeros(len(metas), bool)
    own &= _runs_count(rows.columns["frame"], rows.start, rows.count)
    fm = g.maps
    for i in np.flatnonzero(own):
        col, factor = query(metas[i], g.fps, g.src_fps[videos[i]])
        if factor is None:
            own[i] = g.counting(col)[videos[i]]
        else:
            s0 = int(fm.start[videos[i]])
            own[i] = _counts(fm.columns[col][s0:s0 + int(sizes[i])] * factor)
    return own


def _runs_count(values: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per run of ``values`` (``count[i]`` of them from ``start[i]``, the runs one after the other): whether it
    is 0, 1, 2, … (an empty run is)."""
    ok = np.ones(len(start), bool)
    some = np.flatnonzero(count > 0)
    if not len(some):
        return ok
    ok[some] = values[start[some]] == 0
    second = np.flatnonzero(np.diff(values) != 1) + 1  # the second of two neighbours not one apart (or NaN)
    run = some[np.searchsorted(start[some], second, side="right") - 1]
    inside = (second > start[run]) & (second < start[run] + count[run])
    ok[run[inside]] = False
    return ok


def _every_frame(a: np.ndarray) -> bool:
    """Whether ``a`` is n, n + 1, n + 2, … from a whole n (every frame from its first)."""
    return len(a) == 0 or (a[0] == np.floor(a[0]) and a[-1] - a[0] == len(a) - 1
                           and np.array_equal(np.diff(a), np.ones(len(a) - 1)))


def _counts(a: np.ndarray) -> bool:
    """Whether ``a`` is 0, 1, 2, … (every frame from the first of its grid)."""
    return len(a) == 0 or (a[0] == 0 and _every_frame(a))


def _row_at_or_before(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each of ``y``, the last row of the sorted positions ``p`` at or before it (-1: none). A table of
    every frame from its first (most are) needs no search: the row is the whole frame's number from there."""
    if _every_frame(p):
        return np.clip(np.floor(y) - p[0], -1, len(p) - 1).astype(np.int64)
    return np.searchsorted(p, y, side="right") - 1


def _between_rows(out: Regridded, metas: list[TableMeta], rows: Rows, x: np.ndarray, k: np.ndarray,
                  sizes: np.ndarray, per: dict[str, list[Any]], columns: list[str]) -> None:
    """Dense and keyframe tables: each frame's value from the row at or before it and the next one."""
    if not len(x):
        return
    def col(key: str, dtype: type = np.float64) -> np.ndarray:
        return np.repeat(np.asarray(per[key], dtype), sizes)

    eps, dense = col("eps"), col("dense", bool)
    first = np.repeat(rows.start, sizes)
    found = k >= first  # -1 + start: no row at or before the frame
    last = first + np.repeat(rows.count, sizes) - 1
    kk = np.where(found, k, first)
    nxt = np.minimum(kk + 1, last)
    has_next = kk + 1 <= last
    is_time = np.array([p == "time" for p in per["pos"]])
    row_time = np.repeat(is_time, rows.count) if len(rows.count) else np.zeros(0, bool)
    nothing = np.full(len(row_time), np.nan)
    positions = np.where(row_time, rows.columns.get("time", nothing), rows.columns.get("frame", nothing))
    kk_safe, nxt_safe = np.clip(kk, 0, max(len(positions) - 1, 0)), np.clip(nxt, 0, max(len(positions) - 1, 0))
    pk = positions[kk_safe] if len(positions) else np.zeros(len(x))
    pn = positions[nxt_safe] if len(positions) else np.zeros(len(x))
    gap = np.where(has_next, pn - pk, np.inf)
    threshold = np.repeat([DENSE_MAX_GAP * p + e for p, e in zip(per["period"], per["eps"], strict=True)], sizes)
    task = metas[0].task
    with np.errstate(invalid="ignore"):
        neighbours = np.where(dense, gap <= threshold, np.isfinite(gap))
        alone = found & ((x < pk + col("own") - eps) | (np.abs(x - pk) <= eps))
        covered = alone | (found & neighbours)
        if task == "va":  # only valence and arousal are interpolated
            between = covered & neighbours & (x > pk + eps)
            frac = np.where(between, (x - pk) / np.where(neighbours, gap, 1.0), 0.0)
    skip = np.repeat(np.array([m.shape == "intervals" for m in metas]), sizes)
    covered &= ~skip
    silent = ~covered
    for c in columns:
        if c not in rows.columns:  # no table has it: nothing said
            continue
        v = rows.columns[c]
        vk = v[kk_safe] if len(v) else np.full(len(x), np.nan)
        if task == "va":
            vn = v[nxt_safe] if len(v) else np.full(len(x), np.nan)
            both = between & ~np.isnan(vn)
            res = np.where(both, vk + frac * (vn - vk), np.where(alone, vk, np.nan))
            out.values[c] = np.where(skip, np.nan, res)
        else:
            vk[silent] = np.nan  # the gathered values are this column's own: emptied in place
            out.values[c] = vk


def _paint(out: Regridded, m: TableMeta, rows: Rows, i: int, x: np.ndarray, eps: float, columns: list[str]) -> None:
    """An interval table, through resample's painter (a loop over its intervals, not its frames)."""
    r0, rn = int(rows.start[i]), int(rows.count[i])
    given = [c for c in columns if c in m.columns]
    data = pd.DataFrame({c: rows.columns[c][r0:r0 + rn] for c in ["start", "end", *given]})
    a, n = int(out.offset[i]), len(x)
    for c, res in _intervals(_Interval(data, m.time_base, m.complete, m.task), x, given, eps).items():
        out.values[c][a:a + n] = res


def _absent_is_intensity_zero(out: Regridded, metas: list[TableMeta], sizes: np.ndarray, columns: list[str]) -> None:
    """As merge says: a source that gives an AU's intensity says 0 where it says the AU is absent."""
    for c in columns:
        if not c.endswith(CONTINUOUS_SUFFIX):
            continue
        au = c[: -len(CONTINUOUS_SUFFIX)]
        both = np.repeat(np.array([c in m.columns and au in m.columns for m in metas]), sizes)
        iv = out.values[c]
        out.values[c] = np.where(both & np.isnan(iv) & (out.values[au] == 0), 0.0, iv)
