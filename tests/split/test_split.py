"""Splits: subject independence, targets by frames, balance, folds, check, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code as _cli

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.splits import check, split
from affcurate.synthetic import labelled_workspace, seed001_workspace
from affcurate.workspace import Workspace


@pytest.fixture(scope="module")
def seed001(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return seed001_workspace(tmp_path_factory.mktemp("s") / "ws", seed=1)


def _fractions(ws, assignment: pd.DataFrame) -> pd.Series:  # noqa: ANN001
    labels = io.read_parquet(ws.labels_path, columns=["video_id"])
    part = labels["video_id"].map(assignment.set_index("video_id")["split"])
    return part.value_counts(normalize=True)


def test_subject_independent_80_20_by_frames_and_better_than_random(seed001) -> None:
    best_random = split(seed001, train=0.8, test=0.2, method="random", draws=100, seed=3)
    r = split(seed001, train=0.8, test=0.2, seed=3)
    a = r.assignment
    assert a.groupby("subject")["split"].nunique().max() == 1
    frac = _fractions(seed001, a)
    assert abs(frac["train"] - 0.8) < 0.02
    assert r.max_au_gap <= 2.0 and r.max_au_gap < best_random.max_au_gap
    assert check(seed001) == []
    meta = io.parquet_metadata(seed001.splits_path)
    assert meta["method"] == "optimise" and meta["seed"] == 3 and "max_au_gap_pp" in meta
    table = r.summary["au"]
    assert ("gap", "pp") in table.columns and table.loc["AU1", ("count", "train")] > 0


def test_same_seed_same_split(seed001) -> None:
    a = split(seed001, train=0.7, val=0.1, test=0.2, seed=5, write=False).assignment
    b = split(seed001, train=0.7, val=0.1, test=0.2, seed=5, write=False).assignment
    pd.testing.assert_frame_equal(a, b)
    assert set(a["split"]) == {"train", "val", "test"}


def test_folds_are_subject_disjoint_and_even(seed001) -> None:
    r = split(seed001, folds=5, seed=0)
    a = r.assignment
    assert set(a["fold"]) == set(range(5)) and a.groupby("subject")["fold"].nunique().max() == 1
    assert all(abs(v - 0.2) < 0.03 for v in r.fractions.values())


def test_balance_a_manifest_column(tmp_path: Path) -> None:
    ws = labelled_workspace(tmp_path / "ws", 80, 60, 40_000, {"AU1": 0.2, "AU12": 0.3}, seed=2)
    r = split(ws, train=0.8, test=0.2, balance_columns=("gender",), seed=1)
    labels = io.read_parquet(ws.labels_path, columns=["video_id"])
    m = ws.manifest().set_index("video_id")
    gender = labels["video_id"].map(m["meta"].str.contains('"f"'))
    part = labels["video_id"].map(r.assignment.set_index("video_id")["split"])
    share = gender.groupby(part).mean()
    assert abs(share["train"] - share["test"]) < 0.1


def test_leakage_is_caught(seed001, tmp_path: Path, capsys) -> None:
    split(seed001, train=0.8, test=0.2, seed=0)
    a = io.read_parquet(seed001.splits_path)
    subj = a.groupby("subject").size()
    two = subj[subj > 1].index[0]
    rows = a.index[a["subject"] == two]
    a.loc[rows[0], "split"] = "train"
    a.loc[rows[1], "split"] = "test"
    bad = tmp_path / "bad.csv"
    a.to_csv(bad, index=False)
    problems = check(seed001, bad)
    assert any("leakage" in p and two in p for p in problems)
    with pytest.raises(SystemExit) as e:
        main(["split", str(seed001.root), "--check", "--file", str(bad)])
    assert e.value.code == 1
    assert "leakage" in capsys.readouterr().out


def test_impossible_and_invalid_targets(tmp_path: Path) -> None:
    ws = labelled_workspace(tmp_path / "ws", 10, 4, 10_000, {"AU1": 0.2}, seed=0)
    labels = io.read_parquet(ws.labels_path)
    m = ws.manifest()
    big = labels["video_id"].value_counts().index[0]
    # give one subject 60% of the frames
    counts = labels["video_id"].value_counts()
    order = counts.index.tolist()
    owner = m.set_index("video_id")["subject"]
    acc, chosen = 0, []
    for v in order:
        if acc / len(labels) < 0.6:
            chosen.append(v)
            acc += counts[v]
    m.loc[m["video_id"].isin(chosen), "subject"] = owner[big]
    ws.write_manifest(m)
    with pytest.raises(AffcurateError, match=r"train 0.50 / test 0.50 cannot be met with whole subjects: subject "
                                             r".* alone holds \d+% .*closest achievable: train 0\.\d{3} / test 0\.\d{3}"):
        split(ws, train=0.5, test=0.5)
    with pytest.raises(AffcurateError, match=r"train 0.8 \+ val 0 \+ test 0.3 = 1.1; they must sum to 1"):
        split(ws, train=0.8, test=0.3)


def test_random_method_reproduces_seed001_procedure(seed001) -> None:
    r = split(seed001, train=0.8, test=0.2, method="random", draws=5, seed=0, write=False)
    assert r.assignment.groupby("subject")["split"].nunique().max() == 1
    assert 0.7 < r.fractions["train"] < 0.9
    assert np.isfinite(r.score)




def _ingest_people(ws_dir: Path, clips: Path, subjects: dict[str, str]) -> None:
    """`affcurate ingest --list` of the clips with these subjects (what a user reruns to fix a subject)."""
    lst = clips.parent / "people.csv"
    lst.write_text("path,subject\n" + "".join(f"{clips / name},{s}\n" for name, s in subjects.items()))
    assert _cli(["ingest", str(ws_dir), "--list", str(lst), "--no-faces"]) == 0


def test_check_uses_the_subjects_of_the_current_manifest(samples: Path, tmp_path: Path, capsys) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    names = ["single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov"]
    for name in names:
        (clips / name).write_bytes((samples / name).read_bytes())
    ws_dir = tmp_path / "ws"
    # subjects are free text: `[b]` must reach the user as written, not as rich's bold
    _ingest_people(ws_dir, clips, dict(zip(names, ["[b]P1", "[b]P2", "[b]P3", "[b]P4"], strict=True)))
    ws = Workspace.open(ws_dir)
    rng = np.random.default_rng(0)
    parts = []
    for vid in ws.video_ids():
        n = len(ws.frame_map(vid))
        parts.append(pd.DataFrame({"video_id": vid, "frame": np.arange(n),
                                   "AU1": pd.array(rng.integers(0, 2, n), dtype="Int8"), "has_face": True}))
    io.write_parquet(pd.concat(parts, ignore_index=True), ws.labels_path)
    assert _cli(["split", str(ws_dir), "--train", "0.5", "--test", "0.5"]) == 0
    splits = io.read_parquet(ws.splits_path).set_index("video_id")
    train_vid = splits.index[splits["split"] == "train"][0]
    test_vid = splits.index[splits["split"] == "test"][0]
    capsys.readouterr()
    assert _cli(["split", str(ws_dir), "--check"]) == 0

    # a rerun of ingest says the test video shows the person of the train video
    by_id = {Path(p).name: v for v, p in zip(ws.manifest()["video_id"], ws.manifest()["path"], strict=True)}
    subjects = {name: splits.loc[by_id[name], "subject"] for name in names}
    moved = next(name for name in names if by_id[name] == test_vid)
    person = subjects[next(name for name in names if by_id[name] == train_vid)]
    subjects[moved] = person
    _ingest_people(ws_dir, clips, subjects)
    assert ws.manifest().set_index("video_id").loc[test_vid, "subject"] == person
    capsys.readouterr()
    assert _cli(["split", str(ws_dir), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"subject {person} is in test and train (leakage)" in out
    assert train_vid in out and test_vid in out
