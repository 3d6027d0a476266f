"""VA-bin class weights (seed 004): valence and arousal cut into ``train.va_bins`` bins over [-1, 1], each training
frame's VA loss weighted by the inverse frequency of its bin pair, normalised to mean 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from affcurate.cli import main
from affcurate.train.deep import ccc_loss
from affcurate.train.weights import va_bin, va_bin_table, va_bin_weights
from affcurate.workspace import Workspace

NAN = np.nan


def test_weights_on_a_skewed_training_set_are_those_computed_by_hand() -> None:
    # 2 bins per axis: [-1, 0) and [0, 1]
    va = np.array([[0.5, 0.5]] * 6 + [[-0.5, 0.5]] * 2 + [[-0.5, -0.5], [0.5, NAN], [NAN, NAN]])
    mask = ~np.isnan(va)
    w = va_bin_weights(np.nan_to_num(va), mask, 2)
    # pairs among the 10 frames with a label: (1,1) × 6, (0,1) × 2, (0,0) × 1, (1, no arousal) × 1;
    # inverse frequencies 1/6, 1/2, 1, 1 have mean (6/6 + 2/2 + 1 + 1) / 10 = 0.4
    expected = [1 / 6 / 0.4] * 6 + [1 / 2 / 0.4] * 2 + [1 / 0.4, 1 / 0.4, 1.0]
    assert w == pytest.approx(expected)
    assert w[:10].mean() == pytest.approx(1.0)
    pairs = {(p["valence_bin"], p["arousal_bin"]): (p["frames"], p["weight"])
             for p in va_bin_table(np.nan_to_num(va), mask, 2)}
    assert pairs == {(0, 0): (1, 2.5), (0, 1): (2, 1.25), (1, 1): (6, pytest.approx(1 / 6 / 0.4)), (1, None): (1, 2.5)}
    assert va_bin_weights(np.nan_to_num(va), mask, 0) == pytest.approx(np.ones(11))


def test_bins_are_equal_over_minus_one_to_one_with_one_in_the_last() -> None:
    assert va_bin(np.array([-1.0, -0.51, -0.5, 0.0, 0.49, 0.5, 1.0]), 4).tolist() == [0, 0, 1, 2, 2, 3, 3]
    assert va_bin(np.array([-1.0, 1.0]), 10).tolist() == [0, 9]


def test_a_weighted_ccc_loss_counts_a_frame_of_weight_two_as_two_frames() -> None:
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(6, 2, generator=g), torch.rand(6, 2, generator=g)
    mask = torch.ones(6, 2, dtype=torch.bool)
    w = torch.tensor([2.0, 1, 1, 1, 1, 1])
    twice = torch.cat([pred[:1], pred]), torch.cat([target[:1], target]), torch.ones(7, 2, dtype=torch.bool)
    assert float(ccc_loss(pred, target, mask, w)) == pytest.approx(float(ccc_loss(*twice)), abs=1e-6)
    assert float(ccc_loss(pred, target, mask, torch.ones(6))) == pytest.approx(float(ccc_loss(pred, target, mask)))


def test_a_run_with_va_bins_trains_and_records_them(small_ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    small_ws.save_settings(small_ws.settings.replace("train", va_bins=4))
    main(["train-baseline", str(small_ws.root), "--models", "linear,cnn", "--tasks", "va", "--epochs", "1",
          "--batch-size", "16", "--name", "w"])
    run = small_ws.runs_dir / "w"
    config = json.loads((run / "config.json").read_text())
    assert config["va_bins"] == 4
    # valence -0.5 and +0.5 (bins 1 and 3 of 4), no arousal labels: the pairs are (1, none) and (3, none)
    pairs = config["va_bins_table"]
    assert [(p["valence_bin"], p["arousal_bin"]) for p in pairs] == [(1, None), (3, None)]
    frames = np.array([p["frames"] for p in pairs])
    weights = np.array([p["weight"] for p in pairs])
    assert frames.sum() == config["frames"]["train"]
    assert weights == pytest.approx(frames.sum() / len(frames) / frames)  # inverse frequency, mean 1
    for m in ("linear", "cnn"):
        saved = json.loads((run / m / "metrics.json").read_text())
        assert saved["model"]["va_bins"] == 4 and saved["va"]["rmse_valence"] is not None
    assert "4 equal bins per axis over [-1, 1]" in (run / "MODEL_CARD.md").read_text()
    # the same name with other bins is another run
    small_ws.save_settings(small_ws.settings.replace("train", va_bins=0))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train-baseline", str(small_ws.root), "--models", "linear,cnn", "--tasks", "va", "--epochs", "1",
              "--batch-size", "16", "--name", "w"])
    assert "va_bins 4 → 0" in capsys.readouterr().err
