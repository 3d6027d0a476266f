"""Scores that can be trusted: ICC(2,1) beside RMSE, PCC and CCC; a score that cannot be computed is null / "n/a"
with its reason, never a number; a run without validation frames keeps its last epoch and says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from affcurate import io
from affcurate.cli import main
from affcurate.train.data import CropDataset, build_index
from affcurate.train.deep import CNN
from affcurate.train.metrics import au_metrics, expr_metrics, va_metrics
from affcurate.workspace import Workspace


def icc_2_1_by_hand(x: np.ndarray) -> float:
    """Shrout and Fleiss (1979), ICC(2,1) = (BMS − EMS) / (BMS + (k − 1) EMS + k (JMS − EMS) / n)."""
    n, k = x.shape
    grand = x.mean()
    bms = k * ((x.mean(1) - grand) ** 2).sum() / (n - 1)
    jms = n * ((x.mean(0) - grand) ** 2).sum() / (k - 1)
    ems = (((x - x.mean(1, keepdims=True) - x.mean(0) + grand) ** 2).sum()) / ((n - 1) * (k - 1))
    return (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)


def test_va_metrics_are_rmse_pcc_ccc_and_icc_2_1() -> None:
    # Shrout and Fleiss's table 2, judges 1 and 2 as truth and prediction
    truth = np.array([9, 6, 8, 7, 10, 6], float) / 10
    pred = np.array([2, 1, 4, 1, 5, 2], float) / 10
    y = np.stack([truth, truth[::-1]], 1)
    p = np.stack([pred, pred[::-1]], 1)
    m = va_metrics(y, p, np.ones_like(y, bool))
    assert m["icc_valence"] == pytest.approx(icc_2_1_by_hand(np.stack([pred, truth], 1)))
    assert m["icc_valence"] == pytest.approx(m["icc_arousal"])
    assert m["rmse_valence"] == pytest.approx(np.sqrt(((truth - pred) ** 2).mean()))
    assert m["pcc_valence"] == pytest.approx(np.corrcoef(truth, pred)[0, 1])
    for k in ("rmse", "pcc", "ccc", "icc", "sagr"):
        assert m[f"{k}_mean"] == pytest.approx((m[f"{k}_valence"] + m[f"{k}_arousal"]) / 2)
    assert "n/a" not in m


def test_a_score_that_cannot_be_computed_is_null_with_its_reason() -> None:
    y = np.array([[0.5, 0.1], [-0.2, 0.1], [0.1, 0.1]])
    mask = np.array([[True, True], [True, True], [True, True]])
    constant = va_metrics(y, np.full((3, 2), 0.2), mask)
    assert constant["ccc_valence"] is None and constant["pcc_valence"] is None and constant["icc_valence"] is None
    assert constant["n/a"]["ccc_valence"] == "constant valence predictions"
    assert constant["n/a"]["ccc_mean"] == "constant VA predictions"
    assert constant["rmse_valence"] == pytest.approx(np.sqrt(((y[:, 0] - 0.2) ** 2).mean()))  # still computable
    flat = va_metrics(y, y + np.array([[0.1, 0.2], [0.0, -0.1], [0.2, 0.0]]), mask)
    assert flat["ccc_arousal"] is None and flat["n/a"]["ccc_arousal"] == "constant arousal labels in the test frames"
    assert flat["ccc_mean"] == flat["ccc_valence"] is not None  # the mean of what is defined
    none = va_metrics(y, y, np.zeros_like(mask), part="validation")
    assert none["ccc_mean"] is None and none["rmse_mean"] is None
    assert none["n/a"]["rmse_mean"] == "no validation frames with VA labels"
    au = au_metrics(np.array([[1, 0], [0, 0]], np.float32), np.array([[0.9, 0.7], [0.1, 0.2]]), np.ones((2, 2), bool),
                    ["AU1", "AU2"])
    assert au["f1_AU1"] == 1.0 and au["f1_AU2"] is None and au["n/a"]["f1_AU2"] == "no test frames with AU2 present"
    assert au["f1_mean"] == 1.0  # over the AUs whose F1 is defined
    expr = expr_metrics(np.array([], np.int64), np.array([], np.int64), 8)
    assert expr["accuracy"] is None and expr["n/a"]["f1_macro"] == "no test frames with expression labels"
    text = json.dumps(constant)
    assert "NaN" not in text and '"ccc_valence": null' in text


def cells(markdown: str, model: str) -> dict[str, str]:
    """The cells of ``model``'s row of a Markdown table, by column name."""
    lines = [x for x in markdown.splitlines() if x.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next(x for x in lines if x.strip("|").split("|")[0].strip() == model)
    return dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True))


def without_validation(ws: Workspace) -> Workspace:
    """The demo's case: the split has no validation part (its videos are trained on)."""
    splits = io.read_parquet(ws.splits_path)
    splits["split"] = splits["split"].replace({"val": "train"})
    io.write_parquet(splits, ws.splits_path)
    return ws


def test_a_split_without_validation_keeps_the_last_epoch_and_prints_no_number_it_cannot_compute(
        small_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    ws = without_validation(small_ws)
    capsys.readouterr()
    main(["train-baseline", str(ws.root), "--models", "prior,cnn", "--tasks", "au,expr,va", "--epochs", "2",
          "--batch-size", "16", "--name", "r"])
    printed = capsys.readouterr().out
    run = ws.runs_dir / "r"
    assert json.loads((run / "config.json").read_text())["frames"]["val"] == 0
    log = [json.loads(x) for x in (run / "cnn" / "log.jsonl").read_text().splitlines()]
    assert [r["val_score"] for r in log] == [None, None]  # no validation: nothing is scored on the train frames
    best = torch.load(run / "cnn" / "best.pt", weights_only=True)
    last = torch.load(run / "cnn" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(best[k], last[k]) for k in last)  # the model kept is the last epoch
    table = (run / "benchmark.md").read_text()
    assert "No validation frames: the torch baselines keep their last epoch" in table
    prior = cells(table, "prior")
    assert [prior[c] for c in ("CCC V", "CCC A", "CCC mean", "PCC mean", "ICC mean")] == ["n/a"] * 5
    assert cells(table, "cnn")["CCC A"] == "n/a" and cells(table, "cnn")["RMSE"] != "n/a"
    assert "- n/a in CCC A (prior; cnn): no test frames with arousal labels" in table
    assert "- n/a in CCC V (prior): constant valence predictions" in table
    assert "n/a in CCC mean, PCC mean, ICC mean (prior)" in table
    assert "- n/a in CCC A (prior; cnn): no test frames with arousal labels" in printed
    for p in run.rglob("*.json"):
        assert "NaN" not in p.read_text(), p
    saved = json.loads((run / "benchmark.json").read_text())["rows"]
    assert next(r for r in saved if r["model"] == "prior")["CCC V"] is None
    assert "RMSE V" in (run / "MODEL_CARD.md").read_text() and "ICC A" in (run / "MODEL_CARD.md").read_text()


def test_batchnorm_statistics_are_those_of_the_training_crops_with_the_final_weights(small_ws: Workspace,
                                                                                   tmp_path: Path) -> None:
    """A short training's moving averages lag behind the weights: the model evaluated with them predicts
    something else than the model trained. After fit, each norm holds the training crops' statistics."""
    index = build_index(small_ws)
    train = index.subset(np.flatnonzero(index.table["split"].to_numpy() == "train"))
    model = CNN(("au", "va"), epochs=1, batch_size=len(train), input_size=32, seed=0)
    model.fit(small_ws, train, None, tmp_path, lambda **_: None, lambda _: None)
    norm = next(m for m in model.model.modules() if isinstance(m, nn.BatchNorm2d))
    conv = model.model.features[0]
    ds = CropDataset(small_ws, train, 32)
    x = torch.stack([ds[i]["x"] for i in range(len(ds))])
    ds.close()
    with torch.no_grad():
        h = conv(x)
    assert torch.allclose(norm.running_mean, h.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(norm.running_var, h.var((0, 2, 3), unbiased=True), rtol=1e-4, atol=1e-6)


def test_old_runs_with_nan_read_as_n_a(small_ws: Workspace) -> None:
    """runs/benchmark.md of a workspace with a run of an older version that wrote NaN."""
    main(["train-baseline", str(small_ws.root), "--models", "prior", "--tasks", "au", "--name", "new"])
    old = small_ws.runs_dir / "old"
    old.mkdir()
    (old / "benchmark.json").write_text(json.dumps({"rows": [{"model": "cnn", "AU mean F1": float("nan"),
                                                              "seconds": 1.0}]}))
    main(["train-baseline", str(small_ws.root), "--models", "prior", "--tasks", "au", "--name", "new"])
    every = (small_ws.runs_dir / "benchmark.md").read_text()
    line = next(x for x in every.splitlines() if x.startswith("| old"))
    assert "n/a" in line and "nan" not in line
    assert pd.DataFrame(json.loads((small_ws.runs_dir / "benchmark.json").read_text()))["run"].tolist() == \
        ["new", "old"]
