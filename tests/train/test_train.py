"""The trainer: metrics against reference implementations, learnability on real crops, runs, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score, f1_score

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.train.metrics import au_metrics, ccc, expr_metrics, pcc, tune_thresholds, va_metrics
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace


def test_metrics_match_reference_implementations() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 7, 300)
        p = np.where(rng.random(300) < 0.5, y, rng.integers(0, 7, 300))
        m = expr_metrics(y, p, 8)
        assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
        assert m["f1_macro"] == pytest.approx(f1_score(y, p, average="macro"))
        assert m["f1_weighted"] == pytest.approx(f1_score(y, p, average="weighted"))
        yb = rng.integers(0, 2, (300, 3)).astype(np.float32)
        prob = np.clip(yb * 0.6 + rng.random((300, 3)) * 0.5, 0, 1)
        am = au_metrics(yb, prob, np.ones_like(yb, bool), ["AU1", "AU2", "AU4"])
        for j, a in enumerate(["AU1", "AU2", "AU4"]):
            assert am[f"f1_{a}"] == pytest.approx(f1_score(yb[:, j], prob[:, j] >= 0.5))
        x, z = rng.normal(size=200), rng.normal(size=200)
        z = 0.7 * x + 0.3 * z
        assert pcc(x, z) == pytest.approx(pearsonr(x, z)[0])
        expected = 2 * np.cov(x, z, bias=True)[0, 1] / (x.var() + z.var() + (x.mean() - z.mean()) ** 2)
        assert ccc(x, z) == pytest.approx(expected)
    va = va_metrics(np.array([[0.5, -0.5], [-0.2, 0.3], [0.1, 0.1]]), np.array([[0.4, -0.4], [-0.1, 0.2], [0.2, 0.0]]),
                    np.ones((3, 2), bool))
    assert va["sagr_valence"] == pytest.approx(1.0) and va["rmse_valence"] == pytest.approx(0.1)
    t = tune_thresholds(np.array([[1], [1], [0], [0]], np.float32), np.array([[0.3], [0.35], [0.1], [0.2]]),
                        np.ones((4, 1), bool))
    assert 0.2 <= t[0] <= 0.3


@pytest.mark.slow
def test_cnn_learns_what_the_prior_cannot_on_held_out_subjects(learnable: Callable[..., Workspace],
                                                               tmp_path: Path) -> None:
    ws = learnable(tmp_path / "ws")
    r = train_baseline(ws, models=["prior", "cnn"], tasks=["au", "expr", "va"], epochs=4, seed=0)
    prior, cnn = r.metrics["prior"], r.metrics["cnn"]
    assert cnn["au"]["f1_AU1"] >= 0.9 and cnn["au"]["f1_AU1"] > prior["au"]["f1_AU1"] + 0.2
    assert cnn["expr"]["f1_macro"] > prior["expr"]["f1_macro"] + 0.2
    assert cnn["va"]["ccc_valence"] > 0.5
    # the prior's constant prediction has no correlation: null with the reason, not a number
    assert prior["va"]["ccc_valence"] is None and prior["va"]["n/a"]["ccc_valence"] == "constant valence predictions"
    run = r.run_dir
    for f in ("config.json", "benchmark.md", "benchmark.json", "MODEL_CARD.md", "cnn/best.pt", "cnn/log.jsonl",
              "cnn/metrics.json"):
        assert (run / f).exists(), f
    log = [json.loads(x) for x in (run / "cnn" / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2, 3, 4]
    import torch

    state = torch.load(run / "cnn" / "best.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert "| cnn" in (run / "benchmark.md").read_text()
    # same seed, same metrics (a fresh run folder)
    again = train_baseline(ws, models=["cnn"], tasks=["au", "expr", "va"], epochs=4, seed=0, name="again")
    assert again.metrics["cnn"]["au"] == cnn["au"] and again.metrics["cnn"]["va"] == cnn["va"]


def test_a_run_whose_results_were_lost_resumes_from_its_checkpoints(small_ws: Workspace) -> None:
    first = train_baseline(small_ws, models=["cnn", "linear"], tasks=["va"], epochs=2, seed=1, name="r")
    for m in ("cnn", "linear"):  # a kill after the last epoch's checkpoint, before the metrics
        (first.run_dir / m / "metrics.json").unlink()
    resumed = train_baseline(small_ws, models=["cnn", "linear"], tasks=["va"], epochs=2, seed=1, name="r")
    log = [json.loads(x) for x in (resumed.run_dir / "cnn" / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2]
    for m in ("cnn", "linear"):  # as JSON text, where NaN (no arousal labels) equals NaN
        assert json.dumps(resumed.metrics[m]["va"]) == json.dumps(first.metrics[m]["va"])


def test_missing_stages_name_the_command(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(AffcurateError, match="run `affcurate merge"):
        train_baseline(ws)
    io.write_parquet(pd.DataFrame({"video_id": ["a"], "frame": [0], "AU1": pd.array([1], dtype="Int8")}),
                     ws.labels_path)
    with pytest.raises(AffcurateError, match="run `affcurate split"):
        train_baseline(ws)
    io.write_parquet(pd.DataFrame({"video_id": ["a"], "subject": ["s"], "split": ["train"]}), ws.splits_path)
    with pytest.raises(AffcurateError, match=r"crops of a .* run `affcurate faces run"):
        train_baseline(ws)


@pytest.mark.slow
def test_a_task_without_train_labels_is_skipped(learnable: Callable[..., Workspace], tmp_path: Path) -> None:
    ws = learnable(tmp_path / "ws")
    with pytest.warns(UserWarning, match="task va has no labelled frames in the train split"):
        labels = io.read_parquet(ws.labels_path)
        labels["valence"] = np.nan
        io.write_parquet(labels, ws.labels_path)
        r = train_baseline(ws, models=["prior"], tasks=["au", "va"], epochs=1)
    assert r.skipped_tasks == ["va"] and "va" not in r.metrics["prior"]


def test_unreadable_labels_are_one_line_naming_the_file(small_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    small_ws.labels_path.write_bytes(b"not a parquet file")
    with pytest.raises(SystemExit) as exc:
        main(["train-baseline", str(small_ws.root), "--models", "prior", "--name", "r"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{small_ws.labels_path}: not a readable labels table" in err[0], err
    assert not (small_ws.runs_dir / "r").exists()
