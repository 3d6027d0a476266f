"""Split and report read the merged labels through LabelTable: "not labelled" stays out of every number, a
missing or unreadable labels table is one line, and nothing is written then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code as _cli

from affcurate import io
from affcurate.labels.table import LabelTable
from affcurate.reporting.tables import summary_tables
from affcurate.splits import split
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = labelled_workspace(tmp_path / "ws", 24, 10, 6_000, {"AU1": 0.2, "AU12": 0.3}, seed=3)
    labels = io.read_parquet(ws.labels_path)
    rng = np.random.default_rng(0)
    # a third of AU1, a quarter of the expressions and a fifth of the arousal values were never labelled
    labels.loc[rng.random(len(labels)) < 1 / 3, "AU1"] = pd.NA
    labels.loc[rng.random(len(labels)) < 1 / 4, "expr"] = pd.NA
    labels.loc[rng.random(len(labels)) < 1 / 5, "arousal"] = np.nan
    io.write_parquet(labels, ws.labels_path)
    return ws


def test_not_labelled_frames_stay_out_of_the_split_tables_and_the_report(ws: Workspace) -> None:
    r = split(ws, train=0.8, test=0.2, seed=1)
    raw = pd.read_parquet(ws.labels_path)
    part = raw["video_id"].map(r.assignment.set_index("video_id")["split"])
    au = r.summary["au"]
    for p in ("train", "test"):
        rows = raw[part == p]
        labelled = rows["AU1"].dropna().astype(int)
        assert au.loc["AU1", ("count", p)] == labelled.sum()
        assert au.loc["AU1", ("%", p)] == round(100 * labelled.mean(), 2)
        assert r.summary["overview"].loc[p, "frames"] == len(rows)
    # the expression shares are over the frames with an expression
    assert r.summary["expr"].sum().round(0).tolist() == [100.0, 100.0]
    # the same tables from a LabelTable handed in, and from the workspace
    for given in (LabelTable.read(ws), None):
        tables = summary_tables(ws, r.assignment, given)
        assert tables.keys() == r.summary.keys()
        for name, t in tables.items():
            pd.testing.assert_frame_equal(t, r.summary[name])

    assert _cli(["report", str(ws.root)]) == 0
    rows = [line.strip("|").split("|") for line in (ws.reports_dir / "report.md").read_text().splitlines()
            if line.startswith("|")]
    dataset = {c[0].strip(): c[1].strip() for c in rows if len(c) == 2}
    assert dataset["AUs annotated (frame × AU)"] == str(int(raw["AU1"].sum()) + int(raw["AU12"].sum()))
    assert dataset["frames with an expression"] == str(int(raw["expr"].notna().sum()))
    assert dataset["frames with valence-arousal"] == str(len(raw))


def test_without_labels_split_and_report_say_run_merge_first(tmp_path: Path, capsys) -> None:
    ws = labelled_workspace(tmp_path / "ws", 4, 3, 400, {"AU1": 0.2}, seed=0)
    ws.labels_path.unlink()
    for argv in (["split", str(ws.root)], ["report", str(ws.root)]):
        capsys.readouterr()
        assert _cli(argv) == 2
        err = capsys.readouterr().err
        assert "labels.parquet is missing: run `affcurate merge" in err and "Traceback" not in err
    assert not ws.splits_path.exists() and not ws.reports_dir.exists()


def test_an_unreadable_labels_table_is_one_line_and_nothing_is_written(ws: Workspace, capsys) -> None:
    assert _cli(["split", str(ws.root), "--train", "0.8", "--test", "0.2"]) == 0
    splits_before = ws.splits_path.read_bytes()
    ws.labels_path.write_bytes(b"not a parquet file")
    for argv in (["split", str(ws.root), "--train", "0.5", "--test", "0.5"], ["report", str(ws.root)],
                 ["split", str(ws.root), "--check"]):
        capsys.readouterr()
        assert _cli(argv) == 2, argv
        err = capsys.readouterr().err
        assert "labels.parquet" in err and "not a readable labels table" in err and "Traceback" not in err
    assert ws.splits_path.read_bytes() == splits_before and not ws.reports_dir.exists()
