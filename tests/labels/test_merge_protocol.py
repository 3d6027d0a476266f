"""The seeds' protocol steps in merge: each VA rater's reaction lag (within a bound) and AU-negative subsampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.labels.table import LabelTable

N = 300


def _trace(seed: int) -> np.ndarray:
    """A smooth trace in [-1, 1] like a rater's valence."""
    x = np.random.default_rng(seed).normal(size=N + 40)
    return np.tanh(np.convolve(x, np.ones(15) / 4, "same"))[:N]


def _va(ws, who: str, v: np.ndarray, a: np.ndarray) -> None:  # noqa: ANN001
    write_annotation(ws, Annotation("clip", "va", who, pd.DataFrame({"frame": np.arange(N), "valence": v,
                                                                     "arousal": a})))


def _late(x: np.ndarray, s: int) -> np.ndarray:
    """The trace as a rater ``s`` frames late gives it: the value of frame t at t + s."""
    return np.r_[np.full(s, np.nan), x[: N - s]]


@pytest.mark.parametrize("bound, expected", [(0.0, None), (0.5, [0, 7, 0])])
def test_each_va_raters_lag_is_found_and_compensated_within_the_bound(tmp_path: Path, make_ws, bound,
                                                                     expected) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": N, "src_fps": 30.0, "subject": "s"}},
                        {"labels": {"va_lag_max": bound}})
    v, a = _trace(1), _trace(2)
    _va(ws, "ann", v, a)
    _va(ws, "bob", _late(v, 7), _late(a, 7))  # reacts 7 frames (233 ms) late
    _va(ws, "cem", v + 0.01, a - 0.01)
    r = merge(ws, drop_no_face=False)
    fused = LabelTable.read(ws).va()[:, 0]
    err = np.nanmean(np.abs(fused - (v + 0.01 / 3)))
    if expected is None:
        assert r.lags == [] and err > 0.02  # the late rater blurs the fused trace
    else:
        assert [x["frames"] for x in r.lags] == expected
        assert [x["annotator"] for x in r.lags] == ["ann", "bob", "cem"]
        assert err < 1e-3 and LabelTable.read(ws).meta["lags"] == r.lags


def test_au_negative_frames_are_subsampled_evenly_and_every_step_is_counted(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 100, "src_fps": 30.0, "subject": "s"}},
                        {"labels": {"aus": ["AU1", "AU12"], "au_negative_keep": 0.25}})
    au12 = np.r_[np.ones(60, int), np.zeros(40, int)]  # 40 frames without any AU
    write_annotation(ws, Annotation("clip", "au", "ann", pd.DataFrame(
        {"frame": np.arange(100), "AU1": np.zeros(100, int), "AU12": au12})))
    r = merge(ws, drop_no_face=False)
    frames = r.labels["frame"].to_numpy()
    negative = frames[frames >= 60]
    assert (frames[:60] == np.arange(60)).all() and len(negative) == 10
    assert np.all(np.diff(negative) == 4)  # spread over the run, not its first ten frames
    assert r.filters == [{"step": "on the grid", "frames": 100},
                         {"step": "AU-negative frames subsampled to 0.25", "frames": 70}]
    assert LabelTable.read(ws).meta["filters"] == r.filters


def test_merge_records_each_videos_frames_before_and_along_its_filters(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 100, "src_fps": 30.0, "subject": "s"}},
                 {"labels": {"aus": ["AU1", "AU12"]}})
    au12 = np.r_[np.ones(30, int), np.zeros(50, int), np.full(20, -1)]  # 30 with the AU, 20 not labelled
    data = pd.DataFrame({"frame": np.arange(100), "AU1": np.where(au12 < 0, np.nan, 0), "AU12": np.where(
        au12 < 0, np.nan, au12)})
    write_annotation(ws, Annotation("clip", "au", "ann", data))
    r = merge(ws, keep="au-positive", drop_no_face=False)
    (counts,) = LabelTable.read(ws).meta["video_counts"]
    assert counts == {"video_id": "clip", "frames": 100, "with_face": 100, "labelled": 80, "au_positive": 30,
                      "expr": 0, "va": 0, "after_face": 100, "after_face_labelled": 80, "after_face_au_positive": 30,
                      "kept": 30, "AU1": 0, "AU12": 30}
    assert len(r.labels) == 30


@pytest.mark.parametrize("rule, expected", [("exclude", {"person": 1, "only_machine": None}),
                                            ("fallback", {"person": 1, "only_machine": 0}),
                                            ("fuse", {"person": 0.5, "only_machine": 0})])
def test_machine_sources_are_fused_with_people_only_when_asked(tmp_path: Path, make_ws, rule, expected) -> None:
    ws = make_ws(tmp_path / "ws", {v: {"n_src": 30, "src_fps": 30.0, "subject": v} for v in ("person",
                                                                                              "only_machine")},
                 {"labels": {"aus": ["AU12"]}})
    ones, zeros = np.ones(30, int), np.zeros(30, int)
    write_annotation(ws, Annotation("person", "au", "ann", pd.DataFrame({"frame": np.arange(30), "AU12": ones})))
    for vid in ("person", "only_machine"):
        write_annotation(ws, Annotation(vid, "au", "openface", pd.DataFrame({"frame": np.arange(30), "AU12": zeros}),
                                        source="openface"))
    r = merge(ws, drop_no_face=False, machine=rule)
    rate = r.labels.groupby("video_id")["AU12"].mean()
    for vid, want in expected.items():
        if want is None:
            assert vid not in rate.index  # a video only a machine labelled is left out
        elif rule == "fuse" and vid == "person":
            assert r.labels.loc[r.labels["video_id"] == vid, "AU12_agree"].eq(0.5).all()  # two sources, split
        else:
            assert rate[vid] == want
    assert LabelTable.read(ws).meta["machine"] == rule


def test_every_segment_of_disagreement_is_kept_for_review(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 90, "src_fps": 30.0, "subject": "s"}},
                 {"labels": {"aus": ["AU12"]}})
    a = np.zeros(90, int)
    b = a.copy()
    b[30:60] = 1  # the second second: one says AU12, the other not
    for who, v in (("ann", a), ("bob", b)):
        write_annotation(ws, Annotation("clip", "au", who, pd.DataFrame({"frame": np.arange(90), "AU12": v})))
    merge(ws, drop_no_face=False)
    from affcurate import io

    seg = io.read_parquet(ws.root / "disagreements.parquet")
    assert seg[["video_id", "task", "label", "start", "end"]].values.tolist() == [["clip", "au", "AU12", 30, 59]]
    assert seg["score"].iloc[0] == pytest.approx(0.5)


def test_disagreements_are_most_disagreed_first_then_by_video_start_and_label(tmp_path: Path, make_ws,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever order the videos are merged in (z1 first here: the first rater labelled only it) and in however
    many batches."""
    from affcurate import io
    from affcurate.labels import engine

    rng = np.random.default_rng(3)
    aus = ["AU4", "AU12"]
    ws = make_ws(tmp_path / "ws", {v: {"n_src": 150, "src_fps": 30.0, "subject": v} for v in ("z1", "b1", "m1")},
                 {"labels": {"aus": aus}})
    for who, vids in (("ann", ["z1"]), ("bob", ["b1", "m1"]), ("cat", ["z1", "b1", "m1"])):
        for vid in vids:
            au = {a: (rng.random(150) < 0.5).astype(int) for a in aus}
            write_annotation(ws, Annotation(vid, "au", who, pd.DataFrame({"frame": np.arange(150), **au})))
    files = []
    for batch in (10**6, 100):  # all videos in one batch, then one video a batch
        monkeypatch.setattr(engine, "BATCH_FRAMES", batch)
        merge(ws, drop_no_face=False)
        files.append(io.read_parquet(ws.root / "disagreements.parquet"))
    pd.testing.assert_frame_equal(files[0], files[1])
    seg = files[0]
    assert len(seg) == 3 * 5 * 2  # every second of every video and AU: the raters never agree for a whole second
    keys = list(zip(-seg["score"], seg["video_id"], seg["start"], seg["label"].map(aus.index), strict=True))
    assert keys == sorted(keys)
    assert seg["score"].duplicated().sum() > 10  # ties enough for the order after the score to matter
