"""Property: every fused value on a frame is backed by what the sources said on that frame.

Random sources of every shape (dense, keyframes, intervals), clock and time base (grid frames, grid frames at
another rate, grid seconds, source frames, source frames at another rate, source seconds), complete or not, with
holes, empty values and rows past the video's end, 1-4 annotators per task. Each frame is checked against a
reading of the rules of :mod:`affcurate.labels.resample`, frame by frame: AU presence and expression equal the
majority of what the sources said there, an AU intensity equals the mean of the intensities given there (0 where
a source that gives intensities says absent), and valence/arousal lie between the values of the sources' rows
around that frame; a frame no source labelled has no value.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.workspace import Workspace

AUS = ("AU4", "AU12")
N_EXPR = 8
TOLERANCE = 2
POSITIONS = ("frame", "time", "start", "end")
EPS = 1e-9
# (id, source fps, source frames): small videos, grid of 45-48 frames
VIDEOS = {"g30": (30.0, 45), "s24": (24.0, 36), "s25": (25.0, 40)}
# (clock, time base, fps of the positions: None = the grid's, "src" = the source's, or a number)
CLOCKS = [("grid", "frame", None), ("grid", "frame", 25.0), ("grid", "time", None), ("source", "frame", "src"),
          ("source", "frame", 10.0), ("source", "time", None)]


@pytest.fixture
def ws(make_ws, tmp_path: Path) -> Workspace:  # noqa: ANN001 - one workspace for all examples of a test
    videos = {vid: {"n_src": n, "src_fps": fps, "subject": vid} for vid, (fps, n) in VIDEOS.items()}
    return make_ws(tmp_path / "ws", videos, {"labels": {"aus": list(AUS)}})


@dataclass
class Source:
    ann: Annotation
    x: np.ndarray  # the grid's frames in the source's units
    period: float
    length: float  # the video's length in the source's units
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # the table as arrays, for the frame loops

    def __post_init__(self) -> None:
        self.columns = {c: self.ann.data[c].to_numpy(float) for c in self.ann.data.columns}


_frame_maps: dict[tuple[str, str], pd.DataFrame] = {}


def _frame_map(ws: Workspace, vid: str) -> pd.DataFrame:
    key = (str(ws.root), vid)
    if key not in _frame_maps:
        _frame_maps[key] = ws.frame_map(vid)
    return _frame_maps[key]


def _positions_of_grid(ws: Workspace, vid: str, clock: str, base: str, fps: float | None) -> np.ndarray:
    fm = _frame_map(ws, vid)
    if clock == "grid":
        if base == "time":
            return fm["time"].to_numpy(float)
        return fm["frame"].to_numpy(float) if fps is None else fm["time"].to_numpy(float) * fps
    if base == "time":
        return fm["src_time"].to_numpy(float)
    src_fps = VIDEOS[vid][0]
    return fm["src_frame"].to_numpy(float) if fps == src_fps else fm["src_time"].to_numpy(float) * fps


def _length(ws: Workspace, vid: str, clock: str, base: str, fps: float | None) -> float:
    """The video's length in the source's units."""
    src_fps, n_src = VIDEOS[vid]
    n = len(_frame_map(ws, vid))
    if base == "time":
        return n_src / src_fps if clock == "source" else n / 30
    if clock == "grid":
        return n if fps is None else n / 30 * fps
    return n_src if fps == src_fps else n_src / src_fps * fps


@st.composite
def sources(draw: st.DrawFn, ws: Workspace, vid: str, task: str, name: str) -> Source:
    clock, base, fps = draw(st.sampled_from(CLOCKS))
    fps = VIDEOS[vid][0] if fps == "src" else fps
    shape = draw(st.sampled_from(["dense", "keyframes", "intervals"]))
    length = _length(ws, vid, clock, base, fps)
    period = 1.0 if base == "frame" else draw(st.sampled_from([0.04, 0.1, 0.05]))
    top = int(math.ceil(length / period)) + 6  # some rows run past the end, within the tolerance and beyond
    complete = False
    if shape == "intervals":
        starts = draw(st.lists(st.integers(0, top), min_size=0, max_size=6))
        lens = draw(st.lists(st.integers(0, 12), min_size=len(starts), max_size=len(starts)))
        pos = {"start": [s * period for s in starts], "end": [(s + d) * period for s, d in zip(starts, lens, strict=True)]}
        complete = draw(st.booleans())
        rows = len(starts)
    elif shape == "dense" and base == "frame" and draw(st.booleans()):
        complete = True  # a row for every frame, up to the tolerance longer or shorter
        rows = int(round(length)) + draw(st.integers(-TOLERANCE, TOLERANCE))
        pos = {"frame": list(range(rows))}
    else:
        idx = sorted(draw(st.sets(st.integers(0, top), min_size=0, max_size=25 if shape == "dense" else 6)))
        rows = len(idx)
        pos = {base: [i * period if base == "time" else i for i in idx]}
    if base == "time" and shape != "intervals":
        pos = {"time": [round(t, 9) for t in pos["time"]]}

    def column(values: list) -> list:  # noqa: ANN001
        return draw(st.lists(st.sampled_from(values), min_size=rows, max_size=rows))

    nan = float("nan")
    data = pd.DataFrame(pos)
    if task == "au":
        for au in draw(st.sets(st.sampled_from(AUS), min_size=1)):
            data[au] = column([0.0, 1.0, nan])
            if draw(st.booleans()):
                data[f"{au}_intensity"] = column([nan, 0.0, 1.0, 2.0, 3.0, 5.0])
    elif task == "expr":
        data["expr"] = column([nan, *map(float, range(N_EXPR))])
    else:
        for c in ("valence", "arousal"):
            data[c] = column([nan, -1.0, -0.5, 0.0, 0.25, 0.9, 1.0])
    ann = Annotation(vid, task, name, data, clock=clock, time_base=base, fps=fps, shape=shape, complete=complete)
    x = _positions_of_grid(ws, vid, clock, base, fps)
    if complete and shape != "intervals":
        last = data["frame"].iloc[-1] if rows else -1
        x = np.where((x >= last + 1) & (x < last + 1 + TOLERANCE), last, x)  # the documented length fix
    if base == "time":  # a time-based dense table's sample is its median spacing, any other's a grid frame
        period = float(np.median(np.diff(pos["time"]))) if shape == "dense" and rows > 1 else 1 / 30
    return Source(ann, x, period, length)


def _said(src: Source, col: str, x: float) -> tuple[float, float] | None:
    """What one source says about ``col`` at position ``x``: (low, high) of the values backing it, or None."""
    a, cols = src.ann, src.columns
    if col not in cols:
        return None
    v = cols[col]
    if a.shape == "intervals":
        start, end = cols["start"], cols["end"]
        found = None
        for i in np.argsort(start, kind="stable"):  # the one that starts last wins
            stop_ok = x < end[i] + 1 - EPS if a.time_base == "frame" else x <= end[i] + EPS
            if not np.isnan(v[i]) and start[i] - EPS <= x and stop_ok:
                found = v[i]
        if found is None and a.complete and a.task == "au" and not col.endswith("_intensity"):
            found = 0.0
        return None if found is None else (found, found)
    p = cols[a.position_columns()[0]]
    k = -1
    for i in range(len(p)):  # the last row at or before x
        if p[i] <= x + EPS:
            k = i
    if k < 0:
        return None
    gap = p[k + 1] - p[k] if k + 1 < len(p) else math.inf
    neighbour = gap <= 1.5 * src.period + EPS if a.shape == "dense" else k + 1 < len(p)
    own = src.period if a.time_base == "frame" or a.shape == "dense" else 0.0
    alone = x < p[k] + own - EPS or abs(x - p[k]) <= EPS
    if a.task != "va":
        return (v[k], v[k]) if (alone or neighbour) and not np.isnan(v[k]) else None
    if neighbour and x > p[k] + EPS and not np.isnan(v[k]) and not np.isnan(v[k + 1]):
        return min(v[k], v[k + 1]), max(v[k], v[k + 1])
    return (v[k], v[k]) if alone and not np.isnan(v[k]) else None


def _majority(values: list[float]) -> float:
    """The value more than half of the values are, else NaN."""
    for v in set(values):
        if values.count(v) * 2 > len(values):
            return float(v)
    return math.nan


def _expected(srcs: list[Source], task: str, f: int) -> dict[str, tuple[float, float]]:
    """Per column the (low, high) bounds of the fused value on frame ``f`` (NaN, NaN: no value)."""
    out: dict[str, tuple[float, float]] = {}
    if task == "au":
        for au in AUS:
            pres = [_said(s, au, s.x[f]) for s in srcs]
            out[au] = (m := _majority([p[0] for p in pres if p])), m
            given = []
            for s, pr in zip(srcs, pres, strict=True):
                i = _said(s, f"{au}_intensity", s.x[f])
                if i is None and f"{au}_intensity" in s.columns and pr and pr[0] == 0:
                    i = (0.0, 0.0)  # a source that gives intensities says 0 where it says absent
                if i is not None:
                    given.append(i[0])
            m = float(np.mean(given)) if given else math.nan
            out[f"{au}_intensity"] = m, m
    elif task == "expr":
        m = _majority([p[0] for s in srcs if (p := _said(s, "expr", s.x[f]))])
        out["expr"] = m, m
    else:
        for c in ("valence", "arousal"):
            said = [p for s in srcs if (p := _said(s, c, s.x[f]))]
            out[c] = ((float(np.mean([lo for lo, _ in said])), float(np.mean([hi for _, hi in said])))
                      if said else (math.nan, math.nan))
    return out


@st.composite
def cases(draw: st.DrawFn, ws: Workspace) -> tuple[str, dict[str, list[Source]]]:
    vid = draw(st.sampled_from(sorted(VIDEOS)))
    tasks = draw(st.sets(st.sampled_from(["au", "expr", "va"]), min_size=1))
    by_task = {t: [draw(sources(ws, vid, t, f"ann{j}")) for j in range(draw(st.integers(1, 4)))] for t in tasks}
    return vid, by_task


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_every_fused_value_is_backed_by_a_source_on_that_frame(ws: Workspace, data: st.DataObject) -> None:
    vid, by_task = data.draw(cases(ws))
    shutil.rmtree(ws.annotations_dir, ignore_errors=True)
    for srcs in by_task.values():
        for s in srcs:
            write_annotation(ws, s.ann)
    result = merge(ws, drop_no_face=False)
    # rows past the end by more than the tolerance are reported, per source, and counted
    expected_warnings = {}
    for task, srcs in by_task.items():
        for s in srcs:
            last = s.columns["end" if s.ann.shape == "intervals" else s.ann.position_columns()[0]]
            beyond = int((last >= s.length + TOLERANCE * s.period - 1e-6 * s.period).sum())
            if beyond:
                expected_warnings[(task, s.ann.annotator)] = beyond
    assert {(w["task"], w["annotator"]): w["outside"] for w in result.warnings} == expected_warnings
    labels = result.labels
    lab = labels[labels["video_id"] == vid].set_index("frame")
    assert lab.index.tolist() == list(range(len(_frame_map(ws, vid))))
    fused = {c: lab[c].to_numpy(float, na_value=np.nan) for c in lab.columns if c not in ("video_id", "sources")}
    provenance: list[list[str]] = [[] for _ in lab.index]
    for task in ("au", "expr", "va"):
        for s in by_task.get(task, []):
            for f in lab.index:
                if any(_said(s, c, s.x[f]) for c in s.columns if c not in POSITIONS):
                    provenance[f].append(f"{task}:{s.ann.annotator}")
    assert lab["sources"].tolist() == ["+".join(names) for names in provenance]
    for task, srcs in by_task.items():
        for f in lab.index:
            for col, (lo, hi) in _expected(srcs, task, int(f)).items():
                got = float(fused[col][f])
                where = f"{vid} frame {f} {col}: fused {got}, the sources back [{lo}, {hi}]"
                if math.isnan(lo):
                    assert math.isnan(got), where  # nobody said anything here (or a tie)
                else:
                    assert lo - 1e-5 <= got <= hi + 1e-5, where
            said = sum(any(_said(s, c, s.x[f]) for c in s.columns if c not in POSITIONS) for s in srcs)
            assert fused[f"{task}_n"][f] == said, f"{vid} frame {f}: {task}_n"


def test_the_property_sees_every_rule(ws: Workspace) -> None:
    """The generator reaches every shape and clock (a property that draws only dense grid tables proves little);
    derandomized, so that this is a fact about the generator and not about one run."""
    seen = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(src=sources(ws, "s24", "va", "x"))
    def draw(src: Source) -> None:
        seen.add((src.ann.shape, src.ann.clock, src.ann.time_base, src.ann.complete))

    draw()
    assert {(sh, c, b) for sh, c, b, _ in seen} >= {(sh, c, b) for sh in ("dense", "keyframes", "intervals")
                                                    for c, b, _ in CLOCKS}
    assert any(complete for *_, complete in seen)


def test_a_source_with_nothing_in_it_leaves_the_frames_empty(ws: Workspace) -> None:
    shutil.rmtree(ws.annotations_dir, ignore_errors=True)
    write_annotation(ws, Annotation("g30", "va", "e", pd.DataFrame({"frame": [3], "valence": [np.nan],
                                                                    "arousal": [np.nan]})))
    lab = merge(ws, drop_no_face=False).labels
    assert lab[["valence", "arousal"]].isna().all().all() and (lab["va_n"] == 0).all()
