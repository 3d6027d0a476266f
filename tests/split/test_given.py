"""`affcurate split --from`: a given split adopted from CSV, Parquet, ABAW's and AffectNet's official layouts,
written and shown like a computed one; unknown names, leaks and missing videos refused in one line, nothing
written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code as _cli

from affcurate import io
from affcurate.reporting.tables import summary_tables
from affcurate.splits import adopt, check, split
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace

PARTS = ("train", "val", "test")




@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return labelled_workspace(tmp_path / "ws", 12, 8, 3000, {"AU1": 0.2, "AU12": 0.3}, seed=0)


def _plan(ws: Workspace) -> dict[str, str]:
    """video → part, every subject in one part (subjects taken in turn)."""
    m = ws.manifest()
    of_subject: dict[str, str] = {}
    for s in m["subject"]:
        of_subject.setdefault(s, PARTS[len(of_subject) % 3])
    return dict(zip(m["video_id"], m["subject"].map(of_subject), strict=True))


def _refused(argv: list[str], capsys) -> str:  # noqa: ANN001
    """The one error line of a command that must exit 2."""
    capsys.readouterr()
    assert _cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def _write_csv(path: Path, header: str, rows: list[tuple]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_a_csv_of_videos_in_any_spelling_is_adopted_like_a_computed_split(ws: Workspace, tmp_path: Path,
                                                                          capsys) -> None:
    split(ws, train=0.8, test=0.2, seed=0)
    computed_meta = io.parquet_metadata(ws.splits_path)
    computed = io.read_parquet(ws.splits_path)
    plan = _plan(ws)
    spell = {"train": ["Train_Set", "training", "TRAIN"], "val": ["Validation_Set", "valid", "dev"],
             "test": ["Test_Set", "testing", "test"]}
    rows = [(v, spell[p][i % 3]) for i, (v, p) in enumerate(plan.items())]
    given = _write_csv(tmp_path / "official.csv", "video_id,split", rows)
    capsys.readouterr()
    assert _cli(["split", str(ws.root), "--from", str(given)]) == 0
    out = capsys.readouterr().out
    a = io.read_parquet(ws.splits_path)
    assert list(a.columns) == list(computed.columns) and a.dtypes.equals(computed.dtypes)
    assert dict(zip(a["video_id"], a["split"], strict=True)) == plan
    meta = io.parquet_metadata(ws.splits_path)
    assert set(computed_meta) <= set(meta)
    assert meta["method"] == "given" and meta["source"] == str(given.resolve()) and meta["layout"] == "csv"
    assert check(ws) == []
    # the balance tables are the report's, for the split as given
    r = adopt(ws, given, write=False)
    for name, t in summary_tables(ws, a).items():
        pd.testing.assert_frame_equal(t, r.summary[name])
    assert "overview" in out and f"given from {given}" in out
    assert r.max_au_gap == pytest.approx(float(r.summary["au"][("gap", "pp")].max()), abs=0.01)


def test_a_parquet_of_subjects_and_folds(ws: Workspace, tmp_path: Path, capsys) -> None:
    subjects = sorted(ws.manifest()["subject"].unique())
    given = tmp_path / "folds.parquet"
    io.write_parquet(pd.DataFrame({"subject": subjects, "fold": [1 + i % 4 for i in range(len(subjects))]}), given)
    capsys.readouterr()
    assert _cli(["split", str(ws.root), "--from", str(given)]) == 0
    assert "folds 1, 2, 3, 4 of the file are stored as 0-3" in capsys.readouterr().out
    a = io.read_parquet(ws.splits_path)
    assert list(a.columns) == ["video_id", "subject", "fold"] and a["fold"].dtype == np.int64
    want = {s: i % 4 for i, s in enumerate(subjects)}
    assert (a["fold"] == a["subject"].map(want)).all() and len(a) == 12


def _abaw(root: Path, plan: dict[str, str], task: str = "VA_Estimation_Challenge",
          names: dict[str, str] | None = None) -> Path:
    folders = {"train": "Train_Set", "val": "Validation_Set", "test": "Test_Set"}
    for vid, part in plan.items():
        d = root / task / folders[part]
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{(names or {}).get(vid, vid)}.txt").write_text("valence,arousal\n0.1,0.2\n-5,-5\n0.3,-0.1\n")
    return root


def test_abaw_official_lists_a_task_folder_or_the_folder_of_tasks(ws: Workspace, tmp_path: Path) -> None:
    plan = _plan(ws)
    # a video of two people: the list's `_left` file is the left subject of its source
    m = ws.manifest()
    two = m["video_id"].iloc[-1]
    m.loc[m["video_id"] == two, ["path", "target_side"]] = ["/data/10-60-1280x720.mp4", "left"]
    ws.write_manifest(m)
    root = _abaw(tmp_path / "abaw", plan, names={two: "10-60-1280x720_left"})
    _abaw(root, {v: p for v, p in plan.items() if p != "test"}, "EXPR_Recognition_Challenge",
          names={two: "10-60-1280x720_left"})
    for given in (root / "VA_Estimation_Challenge", root):
        assert _cli(["split", str(ws.root), "--from", str(given)]) == 0
        a = io.read_parquet(ws.splits_path)
        assert dict(zip(a["video_id"], a["split"], strict=True)) == plan
        assert io.parquet_metadata(ws.splits_path)["layout"] == "abaw"


def test_abaw_tasks_that_disagree_are_one_line(ws: Workspace, tmp_path: Path, capsys) -> None:
    plan = _plan(ws)
    root = _abaw(tmp_path / "abaw", plan)
    vid = next(v for v, p in plan.items() if p == "train")
    _abaw(root, {vid: "val"}, "EXPR_Recognition_Challenge")
    err = _refused(["split", str(ws.root), "--from", str(root)], capsys)
    va, expr = root / "VA_Estimation_Challenge", root / "EXPR_Recognition_Challenge"
    assert (f"{va}/Train_Set/{vid}.txt: video {vid} is in train here but in val in {expr}/Validation_Set/{vid}.txt"
            in err)
    assert not ws.splits_path.exists()


def _affectnet(ws: Workspace, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The manifest's sources become AffectNet images; training.csv holds train and val, validation.csv test."""
    m = ws.manifest()
    images = {v: f"{100 + i}/{i:040x}.jpg" for i, v in enumerate(m["video_id"])}
    m["path"] = [f"/data/affectnet/Manually_Annotated_Images/{images[v]}" for v in m["video_id"]]
    ws.write_manifest(m)
    plan = _plan(ws)
    header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    folder = tmp_path / "affectnet"
    folder.mkdir()
    for name, parts in (("training.csv", ("train", "val")), ("validation.csv", ("test",))):
        rows = [(images[v], 10, 10, 100, 100, ";".join(["1.0"] * 136), 1, 0.5, 0.25)
                for v, p in plan.items() if p in parts]
        _write_csv(folder / name, header, rows)
    return folder, {v: "test" if p == "test" else "train" for v, p in plan.items()}


def test_affectnet_training_and_validation_become_train_and_test(ws: Workspace, tmp_path: Path, capsys) -> None:
    folder, want = _affectnet(ws, tmp_path)
    capsys.readouterr()
    assert _cli(["split", str(ws.root), "--from", str(folder), "--allow-leaks"]) == 0
    assert "validation.csv → test" in capsys.readouterr().out
    a = io.read_parquet(ws.splits_path)
    assert dict(zip(a["video_id"], a["split"], strict=True)) == want
    # one file alone: the others stay unassigned and are listed
    capsys.readouterr()
    assert _cli(["split", str(ws.root), "--from", str(folder / "validation.csv"), "--skip-unknown"]) == 0
    out = capsys.readouterr().out
    n_train = sum(p == "train" for p in want.values())
    assert f"{n_train} labelled videos are not in the file and stay unassigned" in out
    assert set(io.read_parquet(ws.splits_path)["split"]) == {"test"}


def test_an_unknown_image_names_its_line(ws: Workspace, tmp_path: Path, capsys) -> None:
    folder, _ = _affectnet(ws, tmp_path)
    path = folder / "training.csv"
    lines = path.read_text().splitlines()
    lines[2] = "999/not-in-the-workspace.jpg" + lines[2][lines[2].index(","):]
    path.write_text("\n".join(lines) + "\n")
    err = _refused(["split", str(ws.root), "--from", str(folder), "--allow-leaks"], capsys)
    assert f"{path}:3: image '999/not-in-the-workspace.jpg' is not in the workspace's manifest" in err
    assert not ws.splits_path.exists()


def test_unknown_ids_are_refused_or_skipped(ws: Workspace, tmp_path: Path, capsys) -> None:
    rows = list(_plan(ws).items())
    given = _write_csv(tmp_path / "s.csv", "video_id,split", rows[:3] + [("nobody", "train")] + rows[3:])
    err = _refused(["split", str(ws.root), "--from", str(given)], capsys)
    assert err.startswith(f"error: {given}:5: video id 'nobody' is not in the workspace's manifest")
    assert "--skip-unknown" in err and not ws.splits_path.exists()
    assert _cli(["split", str(ws.root), "--from", str(given), "--skip-unknown"]) == 0
    assert "skipped 1 video ids of the file that the workspace does not have: nobody" in capsys.readouterr().out
    assert len(io.read_parquet(ws.splits_path)) == 12
    # a Parquet table has no lines: its row is named
    pq = tmp_path / "s.parquet"
    io.write_parquet(pd.DataFrame(rows[:2] + [("nobody", "val")], columns=["video_id", "split"]), pq)
    before = ws.splits_path.read_bytes()
    err = _refused(["split", str(ws.root), "--from", str(pq)], capsys)
    assert f"{pq}: row 3: video id 'nobody' is not in the workspace's manifest" in err
    assert ws.splits_path.read_bytes() == before


def test_a_subject_in_two_parts_is_a_leak(ws: Workspace, tmp_path: Path, capsys) -> None:
    m = ws.manifest()
    plan = _plan(ws)
    subj = m["subject"].value_counts().index[0]
    a, b = m.loc[m["subject"] == subj, "video_id"].iloc[:2]
    plan[a], plan[b] = "train", "test"
    rows = list(plan.items())
    given = _write_csv(tmp_path / "leak.csv", "video_id,split", rows)
    line = 2 + [v for v, _ in rows].index(b)
    err = _refused(["split", str(ws.root), "--from", str(given)], capsys)
    assert f"{given}:{line}: subject {subj} is in train ({a}) and test ({b})" in err and "--allow-leaks" in err
    assert not ws.splits_path.exists()
    assert _cli(["split", str(ws.root), "--from", str(given), "--allow-leaks"]) == 0
    assert f"1 subjects are in two parts (allowed): {subj}" in capsys.readouterr().out
    assert any("leakage" in p for p in check(ws))


def test_bad_rows_and_missing_videos_are_one_line(ws: Workspace, tmp_path: Path, capsys) -> None:
    rows = list(_plan(ws).items())
    bad = _write_csv(tmp_path / "bad.csv", "video_id,split", [rows[0], (rows[1][0], "holdout")] + rows[2:])
    err = _refused(["split", str(ws.root), "--from", str(bad)], capsys)
    assert f"{bad}:3: split 'holdout' of '{rows[1][0]}': expected train, val or test" in err
    twice = _write_csv(tmp_path / "twice.csv", "video_id,split", rows + [(rows[0][0], "val" if rows[0][1] != "val"
                                                                           else "test")])
    err = _refused(["split", str(ws.root), "--from", str(twice)], capsys)
    assert f"{twice}:14: video {rows[0][0]} is put in" in err and "at line 2" in err
    header = _write_csv(tmp_path / "header.csv", "name,part", rows)
    err = _refused(["split", str(ws.root), "--from", str(header)], capsys)
    assert f"{header}:1: header name,part: expected a video_id (or subject) column" in err
    short = _write_csv(tmp_path / "short.csv", "video_id,split", rows[1:])
    err = _refused(["split", str(ws.root), "--from", str(short)], capsys)
    assert f"1 labelled videos are not in {short}: {rows[0][0]}" in err and "--skip-unknown" in err
    err = _refused(["split", str(ws.root), "--from", str(short), "--train", "0.8"], capsys)
    assert "has no train" in err
    assert not ws.splits_path.exists()
    assert _cli(["split", str(ws.root), "--from", str(short), "--skip-unknown"]) == 0
    assert rows[0][0] not in set(io.read_parquet(ws.splits_path)["video_id"])
