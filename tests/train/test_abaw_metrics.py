"""The headline metrics as the ABAW challenges define them (seeds 002 and 003), checked against scikit-learn
and SciPy: VA, Lin's CCC per dimension and their mean; EXPR, the macro F1 over the classes; AU, the F1 of
each AU averaged over the AUs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import f1_score

from affcurate.train.metrics import abaw_scores, au_metrics, ccc, expr_metrics, va_metrics

AUS = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]  # ABAW's 12


def abaw_ccc(x: np.ndarray, y: np.ndarray) -> float:
    """The challenges' CCC: 2 ρ σx σy / (σx² + σy² + (μx − μy)²), ρ Pearson's, σ population deviations."""
    rho = pearsonr(x, y)[0]
    return 2 * rho * x.std() * y.std() / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


@pytest.mark.parametrize("seed", range(10))
def test_au_score_is_the_f1_of_each_au_averaged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    y = (rng.random((n, len(AUS))) < rng.uniform(0.05, 0.5, len(AUS))).astype(np.float32)
    prob = np.clip(0.5 * y + rng.random((n, len(AUS))) * 0.7, 0, 1)
    m = au_metrics(y, prob, np.ones_like(y, bool), AUS)
    pred = (prob >= 0.5).astype(int)
    # ABAW: f1_score per AU at threshold 0.5, unweighted mean over the 12 (sklearn's multilabel macro)
    assert m["f1_mean"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["f1_mean"] == pytest.approx(np.mean([f1_score(y[:, j], pred[:, j]) for j in range(len(AUS))]))
    assert abaw_scores({"au": m})["au"] == m["f1_mean"]
    # frames without an AU's label are left out of that AU's F1 only
    mask = rng.random(y.shape) < 0.8
    mm = au_metrics(y, prob, mask, AUS)
    per = [f1_score(y[mask[:, j], j], pred[mask[:, j], j]) for j in range(len(AUS))]
    assert [mm[f"f1_{a}"] for a in AUS] == pytest.approx(per)
    assert mm["f1_mean"] == pytest.approx(np.mean(per))


def test_an_au_without_positive_frames_has_no_f1_and_is_left_out_of_the_mean() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, 3)) < 0.3).astype(np.float32)
    y[:, 1] = 0
    prob = rng.random((200, 3))
    m = au_metrics(y, prob, np.ones_like(y, bool), ["AU1", "AU2", "AU4"])
    assert m["f1_AU2"] is None and m["n/a"]["f1_AU2"] == "no test frames with AU2 present"
    # its F1 is undefined (no recall), not 0: the mean is over the AUs it is defined for
    assert m["f1_mean"] == pytest.approx(f1_score(y[:, [0, 2]], prob[:, [0, 2]] >= 0.5, average="macro"))


@pytest.mark.parametrize("seed", range(10))
def test_expression_score_is_the_macro_f1_over_the_classes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 8, 500)  # ABAW's 8 classes: the 7 basic expressions and Other
    p = np.where(rng.random(500) < 0.4, y, rng.integers(0, 8, 500))
    m = expr_metrics(y, p, 8)
    assert m["f1_macro"] == pytest.approx(f1_score(y, p, average="macro", labels=list(range(8))))
    assert abaw_scores({"expr": m})["expr"] == m["f1_macro"]
    # a class in neither the labels nor the predictions is not averaged in (as scikit-learn's default)
    y2, p2 = np.where(y == 7, 0, y), np.where(p == 7, 0, p)
    assert expr_metrics(y2, p2, 8)["f1_macro"] == pytest.approx(f1_score(y2, p2, average="macro"))
    # one predicted but never labelled counts as 0
    p3 = np.where(rng.random(500) < 0.05, 7, p2)
    assert expr_metrics(y2, p3, 8)["f1_macro"] == pytest.approx(f1_score(y2, p3, average="macro", zero_division=0))


@pytest.mark.parametrize("seed", range(10))
def test_va_score_is_lins_ccc_of_each_dimension_averaged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    truth = np.clip(rng.normal(0.1, 0.4, (n, 2)), -1, 1)
    pred = np.clip(0.6 * truth + rng.normal(0.05, 0.2, (n, 2)), -1, 1)
    mask = rng.random((n, 2)) < 0.9  # frames rated in one dimension only (ABAW's -5) are left out of the other
    m = va_metrics(truth.astype(np.float32), pred.astype(np.float32), mask)
    expected = [abaw_ccc(pred[mask[:, j], j].astype(np.float32).astype(np.float64),
                         truth[mask[:, j], j].astype(np.float32).astype(np.float64)) for j in range(2)]
    assert [m["ccc_valence"], m["ccc_arousal"]] == pytest.approx(expected, abs=1e-6)
    assert m["ccc_mean"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert abaw_scores({"va": m})["va"] == m["ccc_mean"]
    assert ccc(pred[:, 0], truth[:, 0]) == pytest.approx(abaw_ccc(pred[:, 0], truth[:, 0]))
    # CCC is symmetric and 1 only for identical series: a shift or a scale costs, unlike Pearson's
    assert ccc(truth[:, 0], pred[:, 0]) == pytest.approx(ccc(pred[:, 0], truth[:, 0]))
    assert ccc(truth[:, 0], truth[:, 0]) == pytest.approx(1.0)
    assert ccc(truth[:, 0], truth[:, 0] + 0.3) < 1 and ccc(truth[:, 0], 2 * truth[:, 0]) < 1
