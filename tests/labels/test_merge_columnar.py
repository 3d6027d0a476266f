"""The columnar merge gives the tables of the per-video merge it replaced, exactly (floats within 1e-9).

The reference tables in ``data/merge_reference/`` were written by the per-video merge (commit 2cf8e9f) on the
workspace that :func:`build` generates: every clock and time base (grid frames, grid frames at another rate,
grid seconds, source frames, source frames at another rate, source seconds), every shape (dense with holes and
empty values, keyframes, intervals, complete or not, with length fixes and rows past the end), every task, one to
four annotators, machine sources, a faces table, and every fusion rule, keep rule, machine rule and the VA lag.
To write them again from a checkout of that commit::

    PYTHONPATH=<checkout>:tests .venv/bin/python tests/labels/test_merge_columnar.py tests/labels/data/merge_reference
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from grid_workspace import make_workspace

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec
from affcurate.faces.table import FaceTracks
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.workspace import Workspace

REFERENCE = Path(__file__).parent / "data" / "merge_reference"
AUS = ["AU4", "AU12"]
# id: (source fps, source frames)
VIDEOS = {"g30": (30.0, 90), "s24": (24.0, 72), "s25": (25.0, 80), "v60": (60.0, 150), "solo": (30.0, 60),
          "mach": (30.0, 66), "bare": (30.0, 30)}
# (clock, time base, fps of the positions: None = the grid's, "src" = the source's, or a number)
CLOCKS = [("grid", "frame", None), ("grid", "frame", 25.0), ("grid", "time", None), ("source", "frame", "src"),
          ("source", "frame", 10.0), ("source", "time", None)]
SHAPES = ["dense", "keyframes", "intervals"]
CONFIGS = {
    "majority-mean": ({"au_fusion": "majority", "expr_fusion": "majority", "va_fusion": "mean"},
                      {"keep": "all", "disagreements": 5}),
    "unanimous-median-lag": ({"au_fusion": "unanimous", "expr_fusion": "unanimous", "va_fusion": "median",
                              "va_lag_max": 0.1}, {"keep": "labelled", "drop_no_face": False, "machine": "fallback"}),
    "weighted-negatives": ({"au_fusion": "majority", "expr_fusion": "unanimous", "va_fusion": "weighted",
                            "va_lag_max": 0.2, "au_negative_keep": 0.5},
                           {"keep": "au-positive", "machine": "fuse", "disagreements": 3}),
    "weighted-all": ({"va_fusion": "weighted", "length_tolerance": 3}, {"keep": "all", "drop_no_face": False,
                                                                         "machine": "fuse"}),
}


def _length(clock: str, base: str, fps: float | str | None, src_fps: float, n_src: int) -> tuple[float, float]:
    """(the video's length, one sample) in the positions' units."""
    duration = n_src / src_fps
    if base == "time":
        return duration, (1 / src_fps if clock == "source" else 0.1)
    if fps == "src":
        return float(n_src), 1.0
    return duration * (30.0 if fps is None else float(fps)), 1.0


def _values(rng: np.random.Generator, task: str, n: int, intensity: bool) -> dict[str, np.ndarray]:
    if task == "au":
        out: dict[str, np.ndarray] = {}
        for au in AUS:
            v = (rng.random(n) < 0.4).astype(float)
            v[rng.random(n) < 0.1] = np.nan
            out[au] = v
            if intensity and au == "AU12":
                iv = np.where(v == 1, rng.integers(1, 6, n).astype(float), np.nan)
                iv[(v == 1) & (rng.random(n) < 0.2)] = np.nan  # present without an intensity
                out["AU12_intensity"] = iv
        return out
    if task == "expr":
        v = np.repeat(rng.integers(0, 8, n // 5 + 1), 5)[:n].astype(float)
        v[rng.random(n) < 0.1] = np.nan
        return {"expr": v}
    walk = np.cumsum(rng.normal(0, 0.1, (n, 2)), 0)
    va = np.clip(np.sin(walk), -1, 1)
    va[rng.random(n) < 0.05] = np.nan
    return {"valence": va[:, 0], "arousal": va[:, 1]}


def _table(rng: np.random.Generator, task: str, clock: tuple, shape: str, src_fps: float, n_src: int,
           complete: bool, past: bool) -> tuple[pd.DataFrame, float | None]:
    c, base, fps = clock
    length, period = _length(c, base, fps, src_fps, n_src)
    n = int(round(length / period))
    if complete:
        n += int(rng.integers(-1, 2))  # within the length tolerance: fixed
    pos = np.arange(n) * period
    if shape == "dense" and not complete:
        hole = int(rng.integers(0, max(1, n - 8)))
        pos = np.delete(pos, np.arange(hole, hole + 5))  # a hole of five samples
    elif shape == "keyframes":
        pos = np.sort(rng.choice(pos, size=max(2, len(pos) // 6), replace=False))
    if past and shape != "intervals":
        pos = np.r_[pos, pos[-1] + period * np.arange(6, 9)]  # rows past the end, beyond the tolerance
    a_fps = None if fps is None and c == "grid" else (src_fps if fps == "src" else fps)
    if base == "time":
        a_fps = None
    if shape == "intervals":
        k = max(3, n // 8)
        starts = np.sort(rng.choice(np.arange(n) * period, size=k, replace=False))
        ends = starts + rng.integers(0, 12, k) * period
        if past:
            starts, ends = np.r_[starts, n * period + 4 * period], np.r_[ends, n * period + 9 * period]
        data = {"start": starts, "end": ends}
        values = _values(rng, task, len(starts), intensity=bool(rng.random() < 0.5))
    else:
        data = {"time" if base == "time" else "frame": pos}
        values = _values(rng, task, len(pos), intensity=bool(rng.random() < 0.5))
    if base == "frame":
        data = {k: np.round(v).astype(np.int64) for k, v in data.items()}
    df = pd.DataFrame({**data, **values})
    if task == "au" and rng.random() < 0.3:
        df = df.drop(columns=["AU4"])  # a source that says nothing of one AU
    return df, a_fps


def build(root: Path) -> Workspace:
    """The workspace of the reference tables (deterministic)."""
    rng = np.random.default_rng(15)
    videos = {vid: {"n_src": n, "src_fps": fps, "subject": vid} for vid, (fps, n) in VIDEOS.items()}
    ws = make_workspace(root, videos, {"labels": {"aus": AUS}})
    combo = 0
    for vid, (src_fps, n_src) in VIDEOS.items():
        if vid == "bare":
            continue
        for task in ("au", "expr", "va"):
            k = 1 if vid == "solo" else 2 + (combo % 3)
            for j in range(k):
                clock = CLOCKS[combo % len(CLOCKS)]
                shape = SHAPES[(combo // len(CLOCKS) + j) % len(SHAPES)]
                combo += 1
                if task == "va" and shape == "intervals":
                    shape = "dense"
                complete = shape != "keyframes" and (combo % 2 == 0) and not (shape == "intervals" and task != "au")
                past = combo % 7 == 3 and not complete
                df, fps = _table(rng, task, clock, shape, src_fps, n_src, complete, past)
                annotator, source = f"ann{j}", "affcurate"
                if vid == "mach" and task == "au" or j == 3:
                    annotator, source = ("model", "model") if j % 2 else ("openface", "openface")
                write_annotation(ws, Annotation(vid, task, annotator, df, source, clock[0], clock[1], fps, shape,
                                                complete))
    write_annotation(ws, Annotation("ghost", "au", "ann0", pd.DataFrame({"frame": [0, 1], "AU4": [1, 0]})))
    frames = np.arange(60)
    FaceTracks("g30", frames, np.zeros(60, np.int64), np.tile([1.0, 1.0, 50.0, 50.0], (60, 1)).astype(np.float32),
               np.ones(60, np.float32), np.zeros((60, 5, 2), np.float32), frames % 7 != 0, np.ones(60, bool)).write(ws)
    return ws


def configure(ws: Workspace, labels: dict) -> Workspace:
    defaults = {"au_fusion": "majority", "expr_fusion": "majority", "va_fusion": "mean", "va_lag_max": 0.0,
                "au_negative_keep": 1.0, "length_tolerance": 2}
    ws.save_settings(ws.settings.replace("labels", **{**defaults, "aus": AUS, **labels}))
    return Workspace.open(ws.root)


def _meta(path: Path, root: Path) -> dict:
    return json.loads(json.dumps(io.parquet_metadata(path)).replace(str(root), "<ws>"))


def write_reference(out: Path, tmp: Path) -> None:
    """Run merge under every configuration and keep its three tables (the workspace's folder named ``<ws>``)."""
    ws = build(tmp / "ws")
    for name, (labels, kwargs) in CONFIGS.items():
        ws = configure(ws, labels)
        merge(ws, **kwargs)
        (out / name).mkdir(parents=True, exist_ok=True)
        for table in ("labels", "agreement", "disagreements"):
            shutil.copyfile(ws.root / f"{table}.parquet", out / name / f"{table}.parquet")
    io.write_json(out / "root.json", str(ws.root))


def assert_same_table(got: Path, want: Path, root: Path) -> None:
    g, w = pq.read_table(got), pq.read_table(want)
    assert g.schema.names == w.schema.names
    assert [str(t) for t in g.schema.types] == [str(t) for t in w.schema.types]
    assert _meta(got, root) == _meta(want, Path(io.read_json(REFERENCE / "root.json")))
    gp, wp = g.to_pandas(), w.to_pandas()
    assert len(gp) == len(wp)
    for c in wp.columns:
        a, b = gp[c], wp[c]
        if pd.api.types.is_float_dtype(b.dtype):
            x, y = a.to_numpy(np.float64), b.to_numpy(np.float64)
            assert np.array_equal(np.isnan(x), np.isnan(y)), c
            assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=0, atol=1e-9), c
        else:
            assert a.isna().tolist() == b.isna().tolist(), c
            assert a[a.notna()].tolist() == b[b.notna()].tolist(), c


@pytest.fixture(scope="module")
def reference_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build(tmp_path_factory.mktemp("columnar") / "ws")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_merge_writes_the_reference_tables(reference_ws: Workspace, name: str) -> None:
    labels, kwargs = CONFIGS[name]
    ws = configure(reference_ws, labels)
    r = merge(ws, **kwargs)
    assert r.unmatched == ["ghost"]
    for table in ("labels", "agreement", "disagreements"):
        assert_same_table(ws.root / f"{table}.parquet", REFERENCE / name / f"{table}.parquet", ws.root)


@pytest.mark.parametrize("name", ["majority-mean", "weighted-negatives"])
def test_merge_in_batches_of_a_few_videos_on_threads_writes_the_reference_tables(
        reference_ws: Workspace, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from affcurate.labels import engine

    monkeypatch.setattr(engine, "BATCH_FRAMES", 100)  # one or two videos a batch, two batches at once
    labels, kwargs = CONFIGS[name]
    ws = configure(reference_ws, labels)
    merge(ws, **kwargs)
    for table in ("labels", "agreement", "disagreements"):
        assert_same_table(ws.root / f"{table}.parquet", REFERENCE / name / f"{table}.parquet", ws.root)


def test_every_kind_of_source_is_in_the_reference_workspace(reference_ws: Workspace) -> None:
    from affcurate.labels.model import list_annotations, read_annotation

    anns = [read_annotation(p) for p in list_annotations(reference_ws)["path"]]
    kinds = {(a.clock, a.time_base, a.fps is None, a.shape) for a in anns}
    assert {(c, b, s) for c, b, _, s in kinds} >= {(c, b, s) for c, b, _ in CLOCKS for s in ("dense", "keyframes")}
    assert {a.task for a in anns if a.shape == "intervals"} == {"au", "expr"}
    assert any(a.complete and a.shape == "intervals" for a in anns)
    assert {a.source for a in anns} == {"affcurate", "model", "openface"}
    m = io.parquet_metadata(REFERENCE / "majority-mean" / "labels.parquet")
    assert m["length_fixes"] and m["warnings"]
    assert any(lag["frames"] for lag in io.parquet_metadata(REFERENCE / "weighted-negatives" / "labels.parquet")["lags"])


def test_a_pool_and_one_process_write_the_same_tables(reference_ws: Workspace, tmp_path: Path) -> None:
    ws = configure(reference_ws, CONFIGS["weighted-negatives"][0])
    one = merge(ws, disagreements=4)
    two = merge(ws, disagreements=4, spec=ExecutorSpec("local", 2))
    pd.testing.assert_frame_equal(one.labels, two.labels)
    pd.testing.assert_frame_equal(one.agreement, two.agreement)
    pd.testing.assert_frame_equal(one.disagreements, two.disagreements)
    assert (one.lags, one.warnings, one.video_counts) == (two.lags, two.warnings, two.video_counts)


def test_ray_writes_the_same_tables_as_one_process(reference_ws: Workspace) -> None:
    pytest.importorskip("ray", reason="Ray is the optional extra affcurate[ray]")
    ws = configure(reference_ws, CONFIGS["majority-mean"][0])
    one = merge(ws, disagreements=4)
    on_ray = merge(ws, disagreements=4, spec=ExecutorSpec("ray", 2))
    pd.testing.assert_frame_equal(one.labels, on_ray.labels)
    pd.testing.assert_frame_equal(one.agreement, on_ray.agreement)
    pd.testing.assert_frame_equal(one.disagreements, on_ray.disagreements)


def test_a_length_beyond_the_tolerance_names_the_file_and_writes_nothing(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"a": {"n_src": 60, "src_fps": 30.0}, "b": {"n_src": 48, "src_fps": 24.0}},
                        {"labels": {"aus": AUS}})
    write_annotation(ws, Annotation("a", "au", "x", pd.DataFrame({"frame": np.arange(60), "AU4": 1}), complete=True))
    for vid, n in (("a", 50), ("b", 40)):
        write_annotation(ws, Annotation(vid, "va", "y", pd.DataFrame(
            {"frame": np.arange(n), "valence": 0.1, "arousal": 0.2}), complete=True))
    with pytest.raises(AffcurateError) as exc:
        merge(ws)
    msg = str(exc.value)
    assert msg.startswith(f"{ws.annotation_path('y', 'va', 'a')}: labels cover 50 frames, the video 60;")
    assert msg.endswith("(video a) (and 1 more); nothing was written")
    assert not ws.labels_path.exists()


@pytest.mark.parametrize(("va_fusion", "mixed"), [("mean", False), ("weighted", False), ("mean", True)])
def test_tables_of_every_grid_frame_merge_as_through_the_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 va_fusion: str, mixed: bool) -> None:
    """Tables with a row for each grid frame are their own regridding (also beside tables that are not, in one
    batch); the tables equal those of the search every other table goes through."""
    from affcurate.labels import regrid

    rng = np.random.default_rng(7)
    ws = make_workspace(tmp_path / "ws", {f"v{i}": {"n_src": 60 + 7 * i, "src_fps": 30.0} for i in range(4)},
                        {"labels": {"aus": AUS, "va_fusion": va_fusion, "va_lag_max": 0.1}})
    for i in range(4):
        n = 60 + 7 * i
        for ann in ("a", "b", "c"):
            au = {a: np.where(rng.random(n) < 0.1, np.nan, (rng.random(n) < 0.4).astype(float)) for a in AUS}
            va = np.where(rng.random((n, 2)) < 0.1, np.nan, rng.uniform(-1, 1, (n, 2)))
            # mixed: one rater of each video skipped every fifth frame from frame 20 (its rows are searched)
            rows = np.flatnonzero((np.arange(n) < 20) | (np.arange(n) % 5 > 0)) if mixed and ann == "c" \
                else np.arange(n)
            write_annotation(ws, Annotation(f"v{i}", "au", ann, pd.DataFrame(
                {"frame": rows, **{a: v[rows] for a, v in au.items()}}), complete=True))
            write_annotation(ws, Annotation(f"v{i}", "va", ann, pd.DataFrame(
                {"frame": rows, "valence": va[rows, 0], "arousal": va[rows, 1]}), complete=True))
    searches = []
    search = regrid._between_rows
    monkeypatch.setattr(regrid, "_between_rows", lambda *a: searches.append(1) or search(*a))
    own = regrid._own_rows
    found: list[int] = []
    monkeypatch.setattr(regrid, "_own_rows", lambda metas, *a: (r := own(metas, *a), found.append(int(r.sum())))[0])
    fast = merge(ws, drop_no_face=False, disagreements=3)
    assert bool(searches) == mixed
    assert sum(found) == (16 if mixed else 24)  # the tables of every frame, of 4 videos × 3 raters × 2 tasks
    shutil.copyfile(ws.labels_path, tmp_path / "fast.parquet")
    searches.clear()
    monkeypatch.setattr(regrid, "_own_rows", lambda metas, *a: np.zeros(len(metas), bool))
    searched = merge(ws, drop_no_face=False, disagreements=3)
    assert searches
    assert_same_table(tmp_path / "fast.parquet", ws.labels_path, ws.root)
    pd.testing.assert_frame_equal(fast.labels, searched.labels)
    pd.testing.assert_frame_equal(fast.agreement, searched.agreement)
    pd.testing.assert_frame_equal(fast.disagreements, searched.disagreements)
    assert fast.lags == searched.lags


def test_a_threaded_merge_raises_no_warning_and_leaves_the_filters_as_they_were(
        reference_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from affcurate.labels import engine

    monkeypatch.setattr(engine, "BATCH_FRAMES", 100)  # several batches on two threads
    for name in ("unanimous-median-lag", "weighted-all"):  # medians, weights and lags over empty frames
        ws = configure(reference_ws, CONFIGS[name][0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            before = list(warnings.filters)
            merge(ws, **CONFIGS[name][1])
            assert warnings.filters == before


def test_a_reader_of_the_files_gets_what_merge_returned(reference_ws: Workspace) -> None:
    import polars as pl

    from affcurate.labels.table import LabelTable

    ws = configure(reference_ws, CONFIGS["majority-mean"][0])
    r = merge(ws, disagreements=5)
    pd.testing.assert_frame_equal(pd.read_parquet(ws.labels_path), r.labels)
    pd.testing.assert_frame_equal(LabelTable.read(ws).frame, r.labels)
    assert (r.frames, r.videos) == (len(r.labels), r.labels["video_id"].nunique())
    assert pl.read_parquet(ws.labels_path)["sources"].to_list() == r.labels["sources"].tolist()
    seg = pd.read_parquet(ws.root / "disagreements.parquet")
    pd.testing.assert_frame_equal(seg.head(5), r.disagreements)
    assert (seg["score"].diff().dropna() <= 0).all() and (seg["score"] > 0).all()


def test_a_failed_merge_leaves_the_last_labels_and_no_partial_file(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", {"a": {"n_src": 60, "src_fps": 30.0}, "b": {"n_src": 60, "src_fps": 30.0}},
                        {"labels": {"aus": AUS}})
    for vid in ("a", "b"):
        write_annotation(ws, Annotation(vid, "au", "x", pd.DataFrame({"frame": np.arange(60), "AU4": 1}),
                                        complete=True))
    merge(ws, drop_no_face=False)
    before = ws.labels_path.read_bytes()
    write_annotation(ws, Annotation("b", "va", "y", pd.DataFrame(
        {"frame": np.arange(40), "valence": 0.1, "arousal": 0.2}), complete=True))
    with pytest.raises(AffcurateError, match="labels.parquet is left as it was"):
        merge(ws, drop_no_face=False)
    assert ws.labels_path.read_bytes() == before
    assert sorted(p.name for p in ws.root.glob("*labels*")) == ["labels.parquet"]


def test_per_video_agreement_equals_the_statistics_of_each_video() -> None:
    from affcurate.labels.agreement import alpha, continuous_agreement_by, icc_2_1, mean_pairwise_ccc

    rng = np.random.default_rng(4)
    videos = [rng.uniform(-1, 1, (40, 3)), np.full((30, 3), 0.25), rng.uniform(-1, 1, (1, 3)),
              np.where(rng.random((50, 3)) < 0.3, np.nan, rng.uniform(-1, 1, (50, 3))),
              np.c_[np.full(20, 0.5), np.full(20, 0.5), np.linspace(-1, 1, 20)], np.full((10, 3), np.nan)]
    lengths = np.array([len(v) for v in videos])
    a, icc, ccc = continuous_agreement_by(np.concatenate(videos), np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    for i, v in enumerate(videos):
        for got, want in ((a[i], alpha(v, "interval")), (icc[i], icc_2_1(v)), (ccc[i], mean_pairwise_ccc(v))):
            assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, abs=1e-9), (i, got, want)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_reference(Path(sys.argv[1]), Path(tmp))
