"""Merge: resampling onto the grid, length tolerance, fusion, agreement, face mask, provenance, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affcurate.cli import main
from affcurate.errors import InputError
from affcurate.executor import ExecutorSpec
from affcurate.labels.agreement import alpha, ccc, fleiss_kappa, icc_2_1
from affcurate.labels.formats import import_files
from affcurate.labels.fuse import fuse_discrete
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.labels.resample import GridContext, to_grid


def _va_file(path: Path, n: int, fn) -> Path:  # noqa: ANN001
    t = np.arange(n)
    path.write_text("valence,arousal\n" + "\n".join(f"{fn(i):.6f},{-fn(i):.6f}" for i in t) + "\n")
    return path


def test_va_at_the_source_rate_is_interpolated_onto_30fps(small_ws, tmp_path: Path) -> None:
    # clip_b is 24 fps, 48 frames: an ABAW VA file with one line per source frame, valence linear in time
    f = _va_file(tmp_path / "clip_b.txt", 48, lambda i: -0.9 + 0.03 * i)
    import_files(small_ws, "abaw", [f])
    r = merge(small_ws)
    b = r.labels[r.labels["video_id"] == "clip_b"]
    assert len(b) == 60  # 2 s at 30 fps
    fm = small_ws.frame_map("clip_b")
    expected = -0.9 + 0.03 * fm["src_frame"].to_numpy()
    assert np.allclose(b["valence"].to_numpy(), expected, atol=1e-6)
    assert (b["sources"] == "va:abaw").all()


def test_length_within_tolerance_is_fixed_and_reported_beyond_is_an_error(small_ws, tmp_path: Path, capsys) -> None:
    import_files(small_ws, "abaw", [_va_file(tmp_path / "clip_a.txt", 62, lambda i: 0.1)])  # 2 lines too many
    r = merge(small_ws)
    assert r.length_fixes == [{"video_id": "clip_a", "task": "va", "annotator": "abaw", "samples": 2}]
    before = small_ws.labels_path.read_bytes()
    (tmp_path / "x").mkdir()
    bad = _va_file(tmp_path / "x" / "clip_b.txt", 44, lambda i: 0.2)  # 4 lines short
    import_files(small_ws, "abaw", [bad])
    with pytest.raises(SystemExit) as exc:
        main(["merge", str(small_ws.root)])
    err = capsys.readouterr().err.strip()
    # the source file and its last line, not the stored table; the last good labels stay as they were
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert f"{bad}:45: labels cover 44 frames" in err and "beyond the tolerance ±2" in err
    assert "labels.parquet is left as it was" in err
    assert small_ws.labels_path.read_bytes() == before


def _au(ws, annotator: str, vid: str, values: dict[str, list[int]]) -> None:  # noqa: ANN001
    n = len(next(iter(values.values())))
    write_annotation(ws, Annotation(vid, "au", annotator, pd.DataFrame({"frame": np.arange(n), **values})))


def test_fusion_majority_unanimous_and_agreement(small_ws) -> None:
    a = [1, 1, 0, 0, 1, 0]
    b = [1, 0, 0, 0, 1, 0]
    c = [1, 1, 0, 1, 1, 0]
    for name, v in zip(("ann1", "ann2", "ann3"), (a, b, c), strict=True):
        _au(small_ws, name, "clip_a", {"AU12": v})
    r = merge(small_ws, keep="labelled")
    assert r.labels["AU12"].tolist() == [1, 1, 0, 0, 1, 0]
    assert np.allclose(r.labels["AU12_agree"], [1, 2 / 3, 1, 2 / 3, 1, 1])
    stats = r.agreement.set_index("statistic")["value"]
    assert -1 <= stats["krippendorff_alpha"] <= 1 and -1 <= stats["fleiss_kappa"] <= 1
    assert "ann1" in r.labels["sources"].iloc[0] and "ann3" in r.labels["sources"].iloc[0]
    small_ws.save_settings(small_ws.settings.replace("labels", au_fusion="unanimous"))
    from affcurate.workspace import Workspace

    ws = Workspace.open(small_ws.root)
    r = merge(ws, keep="labelled")  # seed 003: only the frames where all agree keep a label
    assert r.labels["frame"].tolist() == [0, 2, 4, 5] and r.labels["AU12"].tolist() == [1, 0, 1, 0]


def test_identical_annotators_fuse_to_that_annotator_with_alpha_one(small_ws) -> None:
    v = [0, 1, 1, 0, 1, 1, 0, 0]
    for name in ("p", "q", "r"):
        _au(small_ws, name, "clip_a", {"AU1": v})
    r = merge(small_ws, keep="labelled")
    assert r.labels["AU1"].tolist() == v
    stats = r.agreement.set_index("statistic")["value"]
    assert stats["krippendorff_alpha"] == pytest.approx(1.0)
    assert stats["fleiss_kappa"] == pytest.approx(1.0)


def test_face_mask_drops_frames_without_the_subject(small_ws) -> None:
    from affcurate import io

    _au(small_ws, "ann", "clip_a", {"AU6": [1] * 60})
    faces = pd.DataFrame({"frame": np.arange(0, 30), "track_id": 0, "x1": 1.0, "y1": 1.0, "x2": 50.0, "y2": 50.0,
                          "score": 0.9, "landmarks": [[[0.0, 0.0]] * 5] * 30, "is_target": True, "detected": True})
    io.write_parquet(faces, small_ws.faces_path("clip_a"))
    r = merge(small_ws)
    a = r.labels[r.labels["video_id"] == "clip_a"]
    assert a["frame"].tolist() == list(range(30)) and a["has_face"].all()
    kept = merge(small_ws, drop_no_face=False).labels
    assert (~kept.loc[kept["video_id"] == "clip_a", "has_face"]).sum() == 30


def test_disagreement_segments(small_ws) -> None:
    ones = [1] * 60
    mixed = [1] * 30 + [0] * 30
    _au(small_ws, "x", "clip_a", {"AU4": ones})
    _au(small_ws, "y", "clip_a", {"AU4": mixed})
    r = merge(small_ws, keep="labelled", disagreements=3)
    top = r.disagreements.iloc[0]
    assert (top["video_id"], top["label"], top["start"]) == ("clip_a", "AU4", 30)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("valence,arousal\n0.1,0.2\n1.5,0.2\n", "clip_a.txt:3: valence = 1.5 is outside [-1, 1]"),
        ("valence,arousal\n0.1,0.2\n0.1\n", "clip_a.txt:3: 1 fields, expected 2"),
        ("valence;arousal\n0.1;0.2\n", "clip_a.txt:1: header 'valence;arousal' is not an ABAW header"),
        ("valence,arousal\n0.1,abc\n", "clip_a.txt:2: arousal = 'abc' is not a number"),
    ],
)
def test_bad_abaw_files(small_ws, tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "clip_a.txt"
    f.write_text(content)
    with pytest.raises(InputError) as err:
        import_files(small_ws, "abaw", [f])
    assert str(err.value).startswith(str(f)) and message.split(".txt", 1)[1] in str(err.value)
    assert not small_ws.annotations_dir.exists()


def test_own_csv_bad_input_and_unknown_video(small_ws, tmp_path: Path, capsys) -> None:
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n0,1\n1,1\n1,0\n")
    with pytest.raises(InputError, match=r"clip_a.csv:4: frame 1 is repeated"):
        import_files(small_ws, "affcurate", [f])
    f.write_text("frame,AU12\n0,1\n1,7\n")
    with pytest.raises(InputError, match=r"clip_a.csv:3: AU12 = 7 is not 0 or 1"):
        import_files(small_ws, "affcurate", [f])
    f.write_text("frame,expr\n0,Happiness\n1,Joy\n")
    with pytest.raises(InputError, match=r"clip_a.csv:3: unknown expression 'Joy'"):
        import_files(small_ws, "affcurate", [f])
    g = tmp_path / "nosuch.csv"
    g.write_text("frame,AU12\n0,1\n")
    with pytest.raises(SystemExit) as e:
        main(["import", str(small_ws.root), "--format", "affcurate", str(g)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "nosuch.csv: video 'nosuch' is not in the workspace" in err and "Traceback" not in err
    assert not small_ws.annotations_dir.exists()
    report = import_files(small_ws, "affcurate", [g, _ok(tmp_path)], skip_unmatched=True)
    assert report.unmatched == [("nosuch", str(g))] and len(report.written) == 1


def _ok(tmp_path: Path) -> Path:
    p = tmp_path / "ok" / "clip_a.csv"
    p.parent.mkdir()
    p.write_text("frame,AU12\n0,1\n1,0\n")
    return p


def _grid(n_src: int, src_fps: float) -> GridContext:
    duration = n_src / src_fps
    n = int(round(duration * 30))
    t = np.arange(n) / 30
    src = np.minimum(np.floor((t + 0.5 / 30) * src_fps + 1e-9).astype(int), n_src - 1)
    fm = pd.DataFrame({"frame": np.arange(n), "time": t, "src_frame": src, "src_time": src / src_fps})
    return GridContext(fm, 30.0, src_fps, n_src, duration)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(-0.9, 0.9), slope=st.floats(-0.01, 0.01), rate=st.sampled_from([10.0, 25.0, 50.0]))
def test_a_linear_signal_interpolates_exactly(a: float, slope: float, rate: float) -> None:
    g = _grid(120, 24.0)
    times = np.arange(int(5.0 * rate) + 1) / rate  # covers the whole 5 s video
    data = pd.DataFrame({"time": times, "valence": a + slope * times, "arousal": a - slope * times})
    ann = Annotation("v", "va", "r", data, clock="source", time_base="time", shape="dense")
    out = to_grid(ann, g, ["valence", "arousal"], 2).values
    assert np.allclose(out["valence"], a + slope * g.frame_map["src_time"], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), src_fps=st.sampled_from([24.0, 25.0, 30.0]))
def test_resampling_to_30fps_and_back_recovers_the_signal(seed: int, src_fps: float) -> None:
    """A → 30 fps → A: a smooth signal at the source rate comes back within 0.02 (stated tolerance)."""
    rng = np.random.default_rng(seed)
    n_src = 96
    t = np.arange(n_src) / src_fps
    sig = 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6))
    g = _grid(n_src, src_fps)
    ann = Annotation("v", "va", "r", pd.DataFrame({"frame": np.arange(n_src), "valence": sig, "arousal": sig}),
                     clock="source", time_base="frame", fps=src_fps, complete=True)
    grid = to_grid(ann, g, ["valence", "arousal"], 2).values["valence"]
    back = np.interp(t, g.frame_map["src_time"], grid)  # back through the frame map
    assert np.abs(back - sig).max() < 0.02


def test_agreement_statistics_on_known_cases() -> None:
    x = np.array([1.0, 2, 3, 4, 5])
    assert ccc(x, x) == pytest.approx(1.0)
    assert ccc(x, x + 1) < 1
    both = np.stack([x, x], 1)
    assert icc_2_1(both) == pytest.approx(1.0)
    nominal = np.array([[0, 0], [1, 1], [1, 0], [0, 0]], float)
    k = fleiss_kappa(nominal)
    assert -1 <= k < 1
    assert alpha(np.stack([x, x, x], 1), "interval") == pytest.approx(1.0)
    fused, share = fuse_discrete(np.array([[1, 1, 0], [np.nan, 0, 0], [np.nan, np.nan, np.nan]]), "majority")
    assert fused[0] == 1 and fused[1] == 0 and np.isnan(fused[2]) and share[0] == pytest.approx(2 / 3)


def test_interval_alpha_matches_the_reference_implementation() -> None:
    import krippendorff

    rng = np.random.default_rng(1)
    for _ in range(10):
        base = np.round(rng.normal(0, 0.3, 40), 1)
        v = np.stack([base + np.round(rng.normal(0, 0.1, 40), 1) for _ in range(3)], 1)
        v[rng.random(v.shape) < 0.1] = np.nan
        ref = krippendorff.alpha(reliability_data=v.T, level_of_measurement="interval")
        assert alpha(v, "interval") == pytest.approx(ref, abs=1e-9)


@given(st.integers(2, 5), st.integers(1, 4), st.integers(3, 60), st.floats(0, 0.5), st.integers(0, 2**31 - 1))
@settings(max_examples=150, deadline=None)
def test_nominal_alpha_and_kappa_match_the_reference_implementations(k: int, classes: int, n: int,
                                                                      missing: float, seed: int) -> None:
    import krippendorff

    from affcurate.labels.agreement import nominal_agreement

    rng = np.random.default_rng(seed)
    v = rng.integers(0, classes, (n, k)).astype(float)
    v[rng.random(v.shape) < missing] = np.nan
    a, kappa = nominal_agreement(v)
    observed = v[~np.isnan(v)]
    if (~np.isnan(v).all(1)).sum() < 2:
        assert np.isnan(a)  # fewer than two labelled frames
    elif len(np.unique(observed)) < 2:
        assert a == 1.0 or (np.isnan(a) and ((~np.isnan(v)).sum(1) >= 2).sum() == 0)
    else:
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                ref = krippendorff.alpha(reliability_data=v.T, level_of_measurement="nominal")
        except (ValueError, ZeroDivisionError):
            ref = float("nan")
        assert (np.isnan(a) and np.isnan(ref)) or a == pytest.approx(ref, abs=1e-9)
    assert (np.isnan(kappa) and np.isnan(fleiss_kappa(v))) or kappa == pytest.approx(fleiss_kappa(v), abs=1e-12)


def test_a_process_pool_merges_exactly_like_one_process(make_ws, tmp_path: Path) -> None:
    """Videos are merged in worker processes on big workspaces; the result may not depend on it."""
    rng = np.random.default_rng(3)
    videos = {f"v{i}": {"n_src": int(rng.integers(40, 120)), "src_fps": float(rng.choice([24.0, 25.0, 30.0])),
                        "subject": f"s{i % 3}"} for i in range(6)}
    ws = make_ws(tmp_path / "ws", videos)
    for vid, v in videos.items():
        n = int(round(v["n_src"] / v["src_fps"] * 30))
        for k in range(3):
            ann = f"ann{k}"
            write_annotation(ws, Annotation(vid, "au", ann, pd.DataFrame(
                {"frame": np.arange(n), "AU12": (rng.random(n) < 0.3).astype(int),
                 "AU4": (rng.random(n) < 0.1).astype(int)}), complete=True))
            if k < 2 or vid != "v0":  # v0 has two VA annotators, the others three
                write_annotation(ws, Annotation(vid, "va", ann, pd.DataFrame(
                    {"frame": np.arange(n), "valence": rng.uniform(-1, 1, n), "arousal": rng.uniform(-1, 1, n)})))
    one = merge(ws, drop_no_face=False, disagreements=5, spec=ExecutorSpec("local", 1))
    two = merge(ws, drop_no_face=False, disagreements=5, spec=ExecutorSpec("local", 2))
    pd.testing.assert_frame_equal(one.labels, two.labels)
    pd.testing.assert_frame_equal(one.agreement, two.agreement)
    pd.testing.assert_frame_equal(one.disagreements, two.disagreements)
    assert list(one.labels["video_id"].unique()) == list(videos)


def test_merge_reports_progress_to_a_plain_callback_and_prints_nothing(small_ws, capsys) -> None:
    from rich.console import Console
    from rich.progress import Progress

    for vid, n in (("clip_a", 60), ("clip_b", 60)):
        _au(small_ws, "ann", vid, {"AU6": [1] * n})
    reports: list[tuple[str, int, int]] = []
    merge(small_ws, progress=lambda what, done, total: reports.append((what, done, total)))
    assert reports[0] == ("merge", 0, 2) and reports[-1] == ("merge", 2, 2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # the library draws nothing; the command line does
    with open(os.devnull, "w") as sink, Progress(console=Console(file=sink)) as bars:  # the old rich form
        merge(small_ws, progress=bars)
        assert bars.tasks[0].completed == 2
