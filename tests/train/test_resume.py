"""Runs that stop half-way: damaged files are reported in one line and their model starts again; a resumed
run ends where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from affcurate.cli import main
from affcurate.lock import TEMP_RE, WorkspaceBusyError
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

CNN = ["--models", "cnn", "--tasks", "au,va", "--epochs", "2", "--batch-size", "16"]
TIMING = ("seconds", "throughput")  # wall time differs between any two runs; every other number must not


def scores(run: Path, model: str = "cnn") -> str:
    """The model's metrics without wall times, as JSON text (where NaN equals NaN)."""
    saved = json.loads((run / model / "metrics.json").read_text())
    return json.dumps({k: v for k, v in saved.items() if k not in TIMING}, sort_keys=True)


def epochs_logged(run: Path, model: str = "cnn") -> list[int]:
    return [json.loads(x)["epoch"] for x in (run / model / "log.jsonl").read_text().splitlines()]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": os.urandom(len(data))}[how])


@pytest.fixture
def finished(small_ws: Workspace) -> Path:
    """A finished two-epoch cnn run named ``r``: the reference an interrupted run must end equal to."""
    main(["train-baseline", str(small_ws.root), *CNN, "--name", "r"])
    return small_ws.runs_dir / "r"


@pytest.mark.parametrize(("which", "how"), [("last.pt", "empty"), ("last.pt", "truncated"), ("best.pt", "garbage")])
def test_a_damaged_checkpoint_is_reported_and_its_model_restarts(which: str, how: str, small_ws: Workspace,
                                                                 finished: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    reference = scores(finished)
    capsys.readouterr()
    # what a kill during the last epoch's checkpoint left before writes were atomic: no metrics, a broken file
    (finished / "cnn" / "metrics.json").unlink()
    damage(finished / "cnn" / which, how)
    main(["train-baseline", str(small_ws.root), *CNN, "--name", "r"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(finished / "cnn" / which) in err[0] and "damaged" in err[0] and "cnn restarts from scratch" in err[0]
    assert scores(finished) == reference
    assert epochs_logged(finished) == [1, 2]


def test_damaged_metrics_are_reported_and_scored_again(small_ws: Workspace, finished: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    reference = scores(finished)
    capsys.readouterr()
    (finished / "cnn" / "metrics.json").write_text('{"au": {"f1_mean": 0.')
    main(["train-baseline", str(small_ws.root), *CNN, "--name", "r"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metrics.json is damaged" in err[0], err
    assert scores(finished) == reference


def test_the_library_returns_its_notes_and_prints_nothing(small_ws: Workspace, finished: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    (finished / "cnn" / "metrics.json").unlink()
    damage(finished / "cnn" / "last.pt", "empty")
    seen: list[str] = []
    r = train_baseline(small_ws, models=["cnn"], tasks=["au", "va"], epochs=2, batch_size=16, name="r",
                       on_note=seen.append)
    assert seen == r.notes and len(r.notes) == 1 and "last.pt is damaged (empty file)" in r.notes[0]
    assert capsys.readouterr().err == ""


def test_every_file_of_a_run_is_whole(finished: Path) -> None:
    """No temporary is left beside the files, and each file reads back."""
    import torch

    files = sorted(p for p in finished.rglob("*") if p.is_file())
    assert not [p for p in files if p.name.startswith(".")]
    for p in files:
        if p.suffix == ".pt":
            torch.load(p, weights_only=True)
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".jsonl":
            [json.loads(x) for x in p.read_text().splitlines()]


def log_rows(run: Path) -> list[dict[str, Any]]:
    """The epoch log without its wall times."""
    rows = [json.loads(x) for x in (run / "cnn" / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def test_a_run_killed_after_an_epoch_resumes_to_the_uninterrupted_result(small_ws: Workspace, tmp_path: Path
                                                                        ) -> None:
    import torch

    args = ["--models", "cnn", "--tasks", "au,va", "--epochs", "4", "--batch-size", "16", "--name", "r"]
    reference_ws = tmp_path / "reference"
    shutil.copytree(small_ws.root, reference_ws)
    run = small_ws.runs_dir / "r"
    err = tmp_path / "killed.stderr"
    with open(err, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "affcurate", "train-baseline", str(small_ws.root), *args],
                                stdout=subprocess.DEVNULL, stderr=fh)
    deadline = time.monotonic() + 300  # a guard against a hang, not a measure
    while not (run / "cnn" / "last.pt").exists():  # renamed into place once epoch 1 is done
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.01)
    with pytest.raises(WorkspaceBusyError, match="being written by `affcurate train-baseline`"):
        with small_ws.writing("affcurate merge"):  # the trainer holds the writer lock while it trains
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "cnn" / "metrics.json").exists(), "the run finished before the kill: nothing was resumed"
    assert 1 <= len(epochs_logged(run)) < 4

    main(["train-baseline", str(small_ws.root), *args])
    main(["train-baseline", str(reference_ws), *args])
    reference = reference_ws / "runs" / "r"
    # whatever temporary the killed writer left is gone once the next trainer holds the lock
    assert not [p for p in small_ws.root.rglob("*") if TEMP_RE.match(p.name)]
    assert epochs_logged(run) == [1, 2, 3, 4]
    assert log_rows(run) == log_rows(reference)
    assert scores(run) == scores(reference)
    for name in ("last.pt", "best.pt"):
        a = torch.load(run / "cnn" / name, weights_only=True)
        b = torch.load(reference / "cnn" / name, weights_only=True)
        a, b = (a["model"], b["model"]) if name == "last.pt" else (a, b)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_training_is_refused_and_writes_nothing_while_another_command_writes(
        small_ws: Workspace, tree: Callable) -> None:
    with small_ws.writing("affcurate merge"):
        before = tree(small_ws.root)
        done = subprocess.run([sys.executable, "-m", "affcurate", "train-baseline", str(small_ws.root), *CNN,
                               "--name", "r"], capture_output=True, text=True)
        assert done.returncode == 2
        err = done.stderr.strip().splitlines()
        assert len(err) == 1 and "being written by `affcurate merge`" in err[0], done.stderr
        assert tree(small_ws.root) == before


def test_a_temporary_left_by_a_killed_writer_is_removed_by_the_next_run(small_ws: Workspace, finished: Path
                                                                       ) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = finished / "cnn" / f".last.pt.~{int(dead.stdout)}~abc.pt"
    left.write_bytes(b"half a checkpoint")
    main(["train-baseline", str(small_ws.root), *CNN, "--name", "r"])
    assert not left.exists()
