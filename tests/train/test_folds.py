"""Cross-validation (seed 004's subject-independent K-fold protocol): every fold trained and scored in its own
folder, mean ± std over the folds, per-fold rows, resume fold by fold, one-line refusals."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cli_code import one_line_error

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

# each video its own subject: the four videos make three subject-disjoint folds
FOLDS = {"WolfgangLanger_Pexels": 0, "noface_face": 1, "single_face": 2, "face_noface": 2}


def with_folds(ws: Workspace, folds: dict[str, int] = FOLDS) -> Workspace:
    """splits.parquet as ``affcurate split --folds`` writes it."""
    io.write_parquet(pd.DataFrame({"video_id": list(folds), "subject": [f"video:{v}" for v in folds],
                                   "fold": np.array(list(folds.values()), np.int64)}), ws.splits_path)
    return ws


def train_error(capsys: pytest.CaptureFixture, *args: str) -> str:
    """The one-line error of ``affcurate train-baseline ARGS``."""
    return one_line_error(capsys, "train-baseline", *args)


def test_every_fold_is_trained_and_scored_with_mean_and_std_and_per_fold_rows(
        small_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    ws = with_folds(small_ws)
    capsys.readouterr()
    main(["train-baseline", str(ws.root), "--folds", "--models", "prior,linear", "--tasks", "au,expr,va",
          "--name", "cv"])
    printed = capsys.readouterr().out
    run = ws.runs_dir / "cv"
    vids = pd.Series(FOLDS)
    for k in range(3):  # test = fold k, validation = fold k + 1 (mod 3), train = the rest
        cfg = json.loads((run / f"fold-{k}" / "config.json").read_text())
        v = (k + 1) % 3
        assert (cfg["test_fold"], cfg["validation_fold"]) == (k, v)
        assert cfg["videos"]["test"] == sorted(vids.index[vids == k])
        assert cfg["videos"]["val"] == sorted(vids.index[vids == v])
        assert cfg["videos"]["train"] == sorted(vids.index[(vids != k) & (vids != v)])
        for m in ("prior", "linear"):
            assert (run / f"fold-{k}" / m / "metrics.json").exists()
    saved = json.loads((run / "benchmark.json").read_text())
    assert saved["config"]["folds"] == 3
    per_fold = pd.DataFrame(saved["per_fold"])
    assert sorted(zip(per_fold["model"], per_fold["fold"], strict=True)) == [(m, k) for m in ("linear", "prior")
                                                                          for k in range(3)]
    f1 = [json.loads((run / f"fold-{k}" / "linear" / "metrics.json").read_text())["expr"]["f1_macro"]
          for k in range(3)]
    summary = saved["summary"]["linear"]
    assert summary["mean"]["expr"]["f1_macro"] == pytest.approx(np.mean(f1))
    assert summary["std"]["expr"]["f1_macro"] == pytest.approx(np.std(f1, ddof=1))
    assert summary["folds"]["expr"]["f1_macro"] == 3
    mean_row = next(r for r in saved["rows"] if r["model"] == "linear")
    assert mean_row["EXPR macro-F1"] == pytest.approx(np.mean(f1), abs=1e-4) and mean_row["folds"] == 3
    table = (run / "benchmark.md").read_text()
    assert "3-fold cross-validation" in table and "validated on fold k + 1 (mod K)" in table
    assert "| linear | mean ± std | " in table and "| linear | 2          |" in table
    assert f"{np.mean(f1):.3f} ± {np.std(f1, ddof=1):.3f}" in table
    assert "sample std, n − 1" in table and "ICC is ICC(2,1)" in table
    assert table.strip() in printed.replace("\r", "")  # the console shows the same table
    card = (run / "MODEL_CARD.md").read_text()
    assert "3 subject-independent folds" in card and "| fold | validation fold |" in card
    every = json.loads((ws.runs_dir / "benchmark.json").read_text())  # the run's means beside other runs
    assert [(r["run"], r["model"], r["folds"]) for r in every] == [("cv", "prior", 3), ("cv", "linear", 3)]


def test_the_python_twin_and_no_validation(small_ws: Workspace) -> None:
    ws = with_folds(small_ws)
    r = train_baseline(ws, models=["prior", "cnn"], tasks=["au", "va"], epochs=2, batch_size=16, name="cv",
                       folds=True, validation=False, on_note=lambda _: None)
    assert len(r.folds) == 3 and set(r.metrics) == {"prior", "cnn"}
    valence = [f["cnn"]["va"]["ccc_valence"] for f in r.folds]
    assert r.metrics["cnn"]["va"]["ccc_valence"] == pytest.approx(np.mean(valence))
    assert r.std["cnn"]["va"]["ccc_valence"] == pytest.approx(np.std(valence, ddof=1))
    for k in range(3):  # without validation the next fold is trained on, and the last epoch is the model kept
        fold = r.run_dir / f"fold-{k}"
        cfg = json.loads((fold / "config.json").read_text())
        assert cfg["validation_fold"] is None and cfg["frames"]["val"] == 0
        assert cfg["videos"]["train"] == sorted(v for v, f in FOLDS.items() if f != k)
        log = [json.loads(x) for x in (fold / "cnn" / "log.jsonl").read_text().splitlines()]
        assert [row["val_score"] for row in log] == [None, None]
        best = torch.load(fold / "cnn" / "best.pt", weights_only=True)
        last = torch.load(fold / "cnn" / "last.pt", weights_only=True)["model"]
        assert all(torch.equal(best[key], last[key]) for key in last)
    table = (r.run_dir / "benchmark.md").read_text()
    assert "without validation (--no-val" in table and "keep their last epoch" in table


def test_a_split_without_folds_is_refused_in_one_line(small_ws: Workspace, tree: Callable,
                                                      capsys: pytest.CaptureFixture) -> None:
    before = tree(small_ws.root)
    err = train_error(capsys, str(small_ws.root), "--folds", "--models", "prior", "--name", "cv")
    assert f"{small_ws.splits_path} has no folds: run `affcurate split {small_ws.root} --folds K`" in err
    assert tree(small_ws.root) == before
    with pytest.raises(AffcurateError, match="has no folds"):
        train_baseline(small_ws, models=["prior"], folds=True)


def test_two_folds_need_no_val_and_say_so(small_ws: Workspace, tree: Callable,
                                          capsys: pytest.CaptureFixture) -> None:
    ws = with_folds(small_ws, {"WolfgangLanger_Pexels": 0, "noface_face": 1, "single_face": 1, "face_noface": 1})
    before = tree(ws.root)
    err = train_error(capsys, str(ws.root), "--folds", "--models", "prior", "--name", "cv")
    assert "fold 0 leaves no labelled crops to train on (test: fold 0, validation: fold 1)" in err
    assert "with 2 folds, train with --no-val" in err
    assert tree(ws.root) == before
    main(["train-baseline", str(ws.root), "--folds", "--no-val", "--models", "prior", "--tasks", "au",
          "--name", "cv"])
    assert json.loads((ws.runs_dir / "cv" / "config.json").read_text())["folds"] == 2


def test_a_fold_run_under_the_name_of_a_plain_run_is_refused(small_ws: Workspace,
                                                             capsys: pytest.CaptureFixture) -> None:
    main(["train-baseline", str(small_ws.root), "--models", "prior", "--tasks", "au", "--name", "r"])
    with_folds(small_ws)
    err = train_error(capsys, str(small_ws.root), "--folds", "--models", "prior", "--tasks", "au", "--name", "r")
    assert "run r exists with other settings: folds 0 → 3" in err


def scores(fold: Path) -> str:
    saved = json.loads((fold / "cnn" / "metrics.json").read_text())
    return json.dumps({k: v for k, v in saved.items() if k not in ("seconds", "throughput")}, sort_keys=True)


def test_a_fold_run_killed_in_its_second_fold_resumes_there(small_ws: Workspace, tmp_path: Path) -> None:
    ws = with_folds(small_ws)
    args = ["--folds", "--models", "cnn", "--tasks", "au,va", "--epochs", "3", "--batch-size", "16", "--name", "cv"]
    reference_ws = tmp_path / "reference"
    shutil.copytree(ws.root, reference_ws)
    run = ws.runs_dir / "cv"
    err = tmp_path / "killed.stderr"
    with open(err, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "affcurate", "train-baseline", str(ws.root), *args],
                                stdout=subprocess.DEVNULL, stderr=fh)
    deadline = time.monotonic() + 300  # a guard against a hang, not a measure
    while not (run / "fold-1" / "cnn" / "last.pt").exists():
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "no checkpoint of fold 1 after 300 s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "fold-1" / "cnn" / "metrics.json").exists(), "fold 1 finished before the kill"
    fold0 = (run / "fold-0" / "cnn" / "metrics.json").stat().st_mtime_ns
    main(["train-baseline", str(ws.root), *args])
    main(["train-baseline", str(reference_ws), *args])
    assert (run / "fold-0" / "cnn" / "metrics.json").stat().st_mtime_ns == fold0  # done folds are not redone
    reference = reference_ws / "runs" / "cv"
    for k in range(3):
        assert scores(run / f"fold-{k}") == scores(reference / f"fold-{k}"), k
        epochs = [json.loads(x)["epoch"] for x in (run / f"fold-{k}" / "cnn" / "log.jsonl").read_text().splitlines()]
        assert epochs == [1, 2, 3]
    mine, theirs = (json.loads((r / "benchmark.json").read_text())["summary"]["cnn"] for r in (run, reference))
    assert mine["mean"]["au"] == theirs["mean"]["au"] and mine["std"]["va"] == theirs["std"]["va"]
