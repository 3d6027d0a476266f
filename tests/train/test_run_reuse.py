"""A run name used again: the same settings resume, other settings or data are refused, --overwrite starts fresh."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace


def train(ws: Workspace, *args: str) -> None:
    main(["train-baseline", str(ws.root), "--name", "r", *args])


def refused(ws: Workspace, capsys: pytest.CaptureFixture, *args: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        train(ws, *args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(("first", "second", "what"), [
    (["--tasks", "au"], ["--tasks", "au,va"], "tasks au → au,va"),
    (["--tasks", "au", "--epochs", "1"], ["--tasks", "au", "--epochs", "2"], "epochs 1 → 2"),
    (["--tasks", "au", "--models", "prior,linear"], ["--tasks", "au", "--models", "prior"],
     "models prior,linear → prior"),
    (["--tasks", "au", "--seed", "1"], ["--tasks", "au", "--seed", "2"], "seed 1 → 2"),
])
def test_a_name_used_with_other_settings_is_refused(first: list[str], second: list[str], what: str,
                                                     small_ws: Workspace, tree: Callable,
                                                     capsys: pytest.CaptureFixture) -> None:
    train(small_ws, "--models", "prior", *first)
    before = tree(small_ws.root)
    err = refused(small_ws, capsys, "--models", "prior", *second)
    assert f"run r exists with other settings: {what}; use another --name or --overwrite" in err
    assert tree(small_ws.root) == before


def test_changed_labels_under_the_same_name_are_refused(small_ws: Workspace, tree: Callable,
                                                        capsys: pytest.CaptureFixture) -> None:
    train(small_ws, "--models", "prior", "--tasks", "au")
    labels = io.read_parquet(small_ws.labels_path)
    labels["AU1"] = pd.array([1] * len(labels), dtype="Int8")  # a re-merge that changed the labels
    io.write_parquet(labels, small_ws.labels_path)
    before = tree(small_ws.root)
    err = refused(small_ws, capsys, "--models", "prior", "--tasks", "au")
    assert "labels.parquet or splits.parquet changed since" in err
    assert tree(small_ws.root) == before


def test_the_same_settings_resume_and_keep_the_results(small_ws: Workspace, tmp_path: Path) -> None:
    train(small_ws, "--models", "prior", "--tasks", "au")
    metrics = (small_ws.runs_dir / "r" / "prior" / "metrics.json").read_text()
    train(small_ws, "--models", "prior", "--tasks", "au")
    assert (small_ws.runs_dir / "r" / "prior" / "metrics.json").read_text() == metrics
    # a copy of the workspace (new modification times, same contents) goes on with the same run too
    copy = Workspace(Path(shutil.copytree(small_ws.root, tmp_path / "copy", copy_function=shutil.copy)))
    train(copy, "--models", "prior", "--tasks", "au")
    assert (copy.runs_dir / "r" / "prior" / "metrics.json").read_text() == metrics


def test_overwrite_replaces_the_old_run_with_a_fresh_one(small_ws: Workspace) -> None:
    train(small_ws, "--models", "prior,linear", "--tasks", "au")
    train(small_ws, "--models", "prior", "--tasks", "au,va", "--overwrite")
    run = small_ws.runs_dir / "r"
    config = json.loads((run / "config.json").read_text())
    assert config["models"] == ["prior"] and config["tasks"] == ["au", "va"]
    assert "va" in json.loads((run / "prior" / "metrics.json").read_text())
    assert not (run / "linear").exists()  # nothing of the old settings is left under the new config.json
    assert sorted(p.name for p in small_ws.runs_dir.iterdir()) == ["benchmark.json", "benchmark.md", "r"]
    assert "| linear" not in (small_ws.runs_dir / "benchmark.md").read_text()


def test_a_run_with_a_damaged_config_is_refused(small_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    train(small_ws, "--models", "prior", "--tasks", "au")
    (small_ws.runs_dir / "r" / "config.json").write_bytes(b"\x00\x01")
    err = refused(small_ws, capsys, "--models", "prior", "--tasks", "au")
    assert f"run r exists but {small_ws.runs_dir / 'r' / 'config.json'} is damaged" in err and "--overwrite" in err


def test_the_library_refuses_too(small_ws: Workspace, tmp_path: Path) -> None:
    train_baseline(small_ws, models=["prior"], tasks=["au"], name="r")
    with pytest.raises(AffcurateError, match="run r exists with other settings: tasks au → au,va"):
        train_baseline(small_ws, models=["prior"], tasks=["au", "va"], name="r")
    r = train_baseline(small_ws, models=["prior"], tasks=["au", "va"], name="r", overwrite=True)
    assert "va" in r.metrics["prior"]
