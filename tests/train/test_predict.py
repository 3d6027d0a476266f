"""`affcurate predict`: a trained run pre-labels videos as a machine source with a per-frame confidence, on
every executor, idempotently, recorded in the model card; chance levels beside every score; and the loop
predict → accept in the desk's session → merge gives back what the run's metrics promised."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import one_line_error
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, f1_score

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError, InputError
from affcurate.executor import ExecutorSpec
from affcurate.labels.model import Annotation, read_annotation, validate, write_annotation
from affcurate.labels.table import LabelTable
from affcurate.lock import WorkspaceBusyError
from affcurate.train import chance
from affcurate.train.data import build_index
from affcurate.train.metrics import ccc
from affcurate.train.predict import predict
from affcurate.train.prelabel import au_confidence, expr_confidence, va_confidence
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace
from annotator_gui.session import Session

HELD_OUT = ["single_face", "face_noface"]  # the test split of the learnable workspace (the man)
TASKS = ("au", "expr", "va")
MODELS = ("prior", "linear", "cnn", "cnn-gru")


@pytest.fixture(scope="module")
def _trained(_small_template: Path, real_faces: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small learnable workspace with its frame maps (the grid the tables are written on) and a run ``r``
    of every bundled baseline."""
    root = tmp_path_factory.mktemp("trained") / "ws"
    shutil.copytree(_small_template, root)
    ws = Workspace.open(root)
    for vid in real_faces.video_ids():
        if real_faces.frames_path(vid).exists():
            ws.frames_path(vid).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(real_faces.frames_path(vid), ws.frames_path(vid))
    train_baseline(ws, models=list(MODELS), tasks=list(TASKS), epochs=3, seed=0, name="r", on_note=lambda _: None)
    return root


@pytest.fixture
def trained(_trained: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(_trained, root)
    return Workspace.open(root)


def tables(ws: Workspace, annotator: str) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(ws.annotations_dir)): io.read_parquet(p)
            for p in sorted((ws.annotations_dir / annotator).rglob("*.parquet"))}


def metas(ws: Workspace, annotator: str) -> dict[str, dict]:
    return {str(p.relative_to(ws.annotations_dir)): io.parquet_metadata(p)
            for p in sorted((ws.annotations_dir / annotator).rglob("*.parquet"))}


# ---- the table a prediction is written as --------------------------------------------------------------
def test_an_annotation_keeps_a_confidence_column_in_0_1_and_refuses_one_outside(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    data = pd.DataFrame({"frame": [0, 1, 2], "expr": [1, 2, None], "confidence": [0.25, 1.0, None],
                         "other": [1, 2, 3]})
    a = validate(Annotation("v", "expr", "m", data, source="model"), ws.settings.labels)
    assert list(a.data.columns) == ["frame", "expr", "confidence"]  # other columns are still dropped
    assert a.data["confidence"].tolist()[:2] == [0.25, 1.0] and np.isnan(a.data["confidence"].iloc[2])
    bad = data.assign(confidence=[0.5, 1.5, 0.1])
    with pytest.raises(InputError, match=r"m/expr/v:3: confidence = 1.5 is outside \[0, 1\]"):
        validate(Annotation("v", "expr", "m", bad, source="model", origin="m/expr/v"), ws.settings.labels)
    path = write_annotation(ws, Annotation("v", "expr", "m", data, source="model"))
    assert read_annotation(path).data["confidence"].iloc[0] == 0.25


def test_confidence_is_0_where_undecided_and_1_where_sure() -> None:
    prob = np.array([[0.3, 0.9], [1.0, 0.0], [0.65, 0.2]])
    conf = au_confidence(prob, np.array([0.3, 0.5]))  # the least sure AU of each frame
    assert conf == pytest.approx([0.0, 1.0, 0.5])
    assert expr_confidence(np.array([[0.2, 0.8], [0.5, 0.5]]), 2) == pytest.approx([0.8, 0.5])
    assert np.isnan(expr_confidence(None, 3)).all()
    spread = np.array([[0.0, 0.9], [0.2, 0.0], [3.0, 0.0]])
    assert va_confidence(spread, [0], 3) == pytest.approx([1.0, 0.8, 0.0])  # only the dimensions written
    assert va_confidence(spread, [0, 1], 3) == pytest.approx([0.1, 0.8, 0.0])


# ---- chance levels -------------------------------------------------------------------------------------
def test_chance_levels_match_what_reference_guessers_score(small_ws: Workspace) -> None:
    index = build_index(small_ws)
    rng = np.random.default_rng(0)
    n = 4000  # a larger index than the workspace's, drawn from its label shares, so the guessers' mean settles
    sub = index.subset(rng.integers(0, len(index), n))
    lv = chance.levels(sub, TASKS)
    y = sub.au[:, 0][sub.au_mask[:, 0]]
    assert lv["au"]["f1_AU1"] == pytest.approx(f1_score(y, np.ones_like(y)))
    assert lv["au"]["f1_AU12"] is None  # never present: F1 undefined, as the models'
    e = sub.expr[sub.expr >= 0]
    majority = DummyClassifier(strategy="most_frequent").fit(e[:, None], e).predict(e[:, None])
    assert lv["expr"]["accuracy"] == pytest.approx(accuracy_score(e, majority))
    labels = list(range(sub.n_expr))
    draws = [rng.integers(0, sub.n_expr, len(e)) for _ in range(50)]
    macro = np.mean([f1_score(e, g, labels=labels, average="macro", zero_division=0) for g in draws])
    weighted = np.mean([f1_score(e, g, labels=labels, average="weighted", zero_division=0) for g in draws])
    assert lv["expr"]["f1_macro"] == pytest.approx(macro, abs=0.01)
    assert lv["expr"]["f1_weighted"] == pytest.approx(weighted, abs=0.01)
    v = sub.va[sub.va_mask[:, 0], 0]
    assert lv["va"]["rmse_valence"] == pytest.approx(np.sqrt(((v - v.mean()) ** 2).mean()), rel=1e-5)
    assert lv["va"]["ccc_valence"] == 0.0 and lv["va"]["ccc_arousal"] is None  # no arousal labels
    assert lv["va"]["sagr_valence"] == pytest.approx(max((v > 0).mean(), (v < 0).mean()))


def test_the_chance_level_is_printed_beside_every_score(trained: Workspace) -> None:
    run = trained.runs_dir / "r"
    index = build_index(trained)
    test = index.subset(np.flatnonzero(index.table["split"].to_numpy() == "test"))
    p = float(test.au[:, 0].mean())
    table = (run / "benchmark.md").read_text()
    row = next(x for x in table.splitlines() if x.startswith("| chance "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    header = [c.strip() for c in next(x for x in table.splitlines() if x.startswith("| model")).strip("|").split("|")]
    got = dict(zip(header, cells, strict=True))
    assert got["AU mean F1"] == f"{2 * p / (1 + p):.3f}" and got["CCC V"] == "0.000" and got["seconds"] == ""
    share = np.bincount(test.expr[test.expr >= 0]).max() / (test.expr >= 0).sum()
    assert got["EXPR acc"] == f"{share:.3f}" and got["CCC A"] == "n/a"  # the test part has no arousal labels
    assert chance.NOTE in table
    card = (run / "MODEL_CARD.md").read_text()
    assert card.count("| chance ") == 2 and chance.NOTE in card  # the results and the VA detail
    saved = json.loads((run / "benchmark.json").read_text())
    assert saved["chance"]["AU mean F1"] == pytest.approx(2 * p / (1 + p), abs=1e-4)
    assert [r["model"] for r in saved["rows"]] == list(MODELS)  # a chance level is no model
    every = (trained.runs_dir / "benchmark.md").read_text()
    assert re.search(r"^\| r +\| chance +\| +0\.\d{3} \|", every, re.M)
    assert [r["model"] for r in json.loads((trained.runs_dir / "benchmark.json").read_text())] == list(MODELS)


# ---- predict ------------------------------------------------------------------------------------------
def test_jobs_1_and_2_write_the_same_tables_and_a_second_call_writes_nothing(
        trained: Workspace, tmp_path: Path, tree: Callable) -> None:
    other = Workspace.open(shutil.copytree(trained.root, tmp_path / "other"))
    one = predict(trained, "r", spec=ExecutorSpec("local", 1))
    predict(other, "r", spec=ExecutorSpec("local", 2))
    assert one.annotator == "r-cnn" and sorted(one.written) == sorted(trained.video_ids())
    assert all(ts == list(TASKS) for ts in one.written.values()) and not one.failed
    a, b = tables(trained, "r-cnn"), tables(other, "r-cnn")
    assert sorted(a) == sorted(b) and len(a) == 3 * len(trained.video_ids())
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    assert metas(trained, "r-cnn") == metas(other, "r-cnn")
    for k, df in a.items():
        n = len(trained.frame_map(k.split("/")[-1].removesuffix(".parquet")))
        assert df["frame"].tolist() == list(range(n))  # one row per frame of the grid
        conf = df["confidence"].dropna()
        assert len(conf) and ((conf >= 0) & (conf <= 1)).all()
    va = read_annotation(trained.annotation_path("r-cnn", "va", "single_face"))
    assert va.source == "model" and va.complete and va.extra["run"] == "r"
    assert va.data["arousal"].isna().all()  # never trained (no arousal labels): the model says nothing of it
    # the same call again: every table is current, nothing is written
    before = tree(trained.root)
    again = predict(trained, "r")
    assert not again.written and sorted(again.unchanged) == sorted(one.written)
    assert tree(trained.root) == before
    # a table lost (a kill before it was written): the next call writes that one, the same as before
    trained.annotation_path("r-cnn", "expr", "single_face").unlink()
    resumed = predict(trained, "r")
    assert resumed.written == {"single_face": ["expr"]}
    pd.testing.assert_frame_equal(tables(trained, "r-cnn")["r-cnn/expr/single_face.parquet"],
                                  a["r-cnn/expr/single_face.parquet"])


@pytest.mark.slow
def test_ray_writes_the_tables_the_local_pool_writes(trained: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is the optional extra affcurate[ray]")
    other = Workspace.open(shutil.copytree(trained.root, tmp_path / "other"))
    predict(trained, "r", videos=HELD_OUT, spec=ExecutorSpec("local", 2))
    on_ray = predict(other, "r", videos=HELD_OUT, spec=ExecutorSpec("ray", 2))
    assert sorted(on_ray.written) == sorted(HELD_OUT) and not on_ray.failed
    a, b = tables(trained, "r-cnn"), tables(other, "r-cnn")
    assert sorted(a) == sorted(b) and len(a) == 6
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])


@pytest.mark.parametrize("model", MODELS)
def test_every_baseline_pre_labels_what_it_was_scored_on(trained: Workspace, model: str) -> None:
    """The model read back from the run predicts what the run scored: on the held-out frames, the tables give
    the run's test metrics."""
    predict(trained, "r", model=model, videos=HELD_OUT)
    scored = json.loads((trained.runs_dir / "r" / model / "metrics.json").read_text())
    truth = LabelTable.read(trained, videos=HELD_OUT).frame
    got = {}
    for task in TASKS:
        t = pd.concat([io.read_parquet(trained.annotation_path(f"r-{model}", task, v)).assign(video_id=v)
                       for v in HELD_OUT])
        got[task] = truth[["video_id", "frame"]].merge(t, on=["video_id", "frame"])
        assert len(got[task]) == len(truth) and got[task]["confidence"].between(0, 1).all()
    y = truth.merge(got["au"], on=["video_id", "frame"], suffixes=("", "_p"))
    assert f1_score(y["AU1"].astype(int), y["AU1_p"].astype(int)) == pytest.approx(scored["au"]["f1_AU1"])
    y = truth.merge(got["expr"], on=["video_id", "frame"], suffixes=("", "_p"))
    assert accuracy_score(y["expr"].astype(int), y["expr_p"].astype(int)) == pytest.approx(scored["expr"]["accuracy"])
    y = truth.merge(got["va"], on=["video_id", "frame"], suffixes=("", "_p"))
    rmse = float(np.sqrt(((y["valence"].astype(np.float64) - y["valence_p"]) ** 2).mean()))
    assert rmse == pytest.approx(scored["va"]["rmse_valence"], abs=1e-5)


def test_a_video_without_a_frame_map_or_crops_is_refused_by_name_and_skipped_by_default(
        trained: Workspace, capsys: pytest.CaptureFixture) -> None:
    trained.frames_path("noface_face").unlink()
    assert "video noface_face has no frame map to predict from" in one_line_error(
        capsys, "predict", str(trained.root), "--run", "r", "--videos", "noface_face")
    r = predict(trained, "r", model="prior")
    assert r.skipped == {"noface_face": "no frame map"} and "noface_face" not in r.written


def test_by_default_only_what_no_person_labelled_is_pre_labelled(trained: Workspace) -> None:
    n = len(trained.frame_map("WolfgangLanger_Pexels"))
    person = pd.DataFrame({"frame": np.arange(n), "expr": np.full(n, 4)})
    write_annotation(trained, Annotation("WolfgangLanger_Pexels", "expr", "ana", person, source="desk"))
    machine = pd.DataFrame({"frame": np.arange(n), "AU1": np.zeros(n, int)})
    write_annotation(trained, Annotation("WolfgangLanger_Pexels", "au", "openface", machine, source="openface"))
    r = predict(trained, "r", model="prior", tasks=["au", "expr"])
    assert r.annotator == "r-prior"
    assert r.written["WolfgangLanger_Pexels"] == ["au"]  # the person's expressions stay the only ones
    assert all(r.written[v] == ["au", "expr"] for v in trained.video_ids() if v != "WolfgangLanger_Pexels")
    assert not (trained.annotations_dir / "r-prior" / "va").exists()
    # asked by name, a video is pre-labelled for every task asked, whoever labelled it
    named = predict(trained, "r", model="prior", videos=["WolfgangLanger_Pexels"], tasks=["expr"])
    assert named.written == {"WolfgangLanger_Pexels": ["expr"]}


def test_the_model_card_lists_the_pre_labelled_videos_and_keeps_them_when_the_run_resumes(
        trained: Workspace, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    main(["predict", str(trained.root), "--run", "r", "--videos", ",".join(HELD_OUT), "--tasks", "au,va"])
    printed = capsys.readouterr().out
    assert "r-cnn" in printed and "2 videos written" in printed
    main(["predict", str(trained.root), "--run", "r", "--model", "linear", "--videos", "single_face"])
    run = trained.runs_dir / "r"
    saved = json.loads((run / "predictions.json").read_text())["prelabelled"]
    assert [(e["video"], e["annotator"], e["tasks"]) for e in saved] == [
        ("face_noface", "r-cnn", ["au", "va"]), ("single_face", "r-cnn", ["au", "va"]),
        ("single_face", "r-linear", list(TASKS))]
    call = f"affcurate predict {trained.root} --run r --model cnn --videos single_face,face_noface --tasks au,va"
    assert saved[0]["call"] == call
    card = (run / "MODEL_CARD.md").read_text()
    assert card.count("## Pre-labelled videos") == 1 and f"`{call}`" in card and "| single_face | r-linear " in card
    train_baseline(trained, models=list(MODELS), tasks=list(TASKS), epochs=3, seed=0, name="r",
                   on_note=lambda _: None)  # resumed: every model is done, the card is written again
    assert (run / "MODEL_CARD.md").read_text() == card


def test_what_cannot_be_predicted_is_refused_in_one_line_and_nothing_is_written(
        trained: Workspace, capsys: pytest.CaptureFixture, tree: Callable) -> None:
    ws = str(trained.root)
    before = tree(trained.root)
    assert "unknown run 'nope': expected one of r" in one_line_error(capsys, "predict", ws, "--run", "nope")
    assert "--run: invalid run name" in one_line_error(capsys, "predict", ws, "--run", "../r")
    assert "unknown model 'lstm' in run r: expected one of prior, linear, cnn, cnn-gru" in one_line_error(
        capsys, "predict", ws, "--run", "r", "--model", "lstm")
    assert "unknown video 'nobody'" in one_line_error(capsys, "predict", ws, "--run", "r", "--videos", "nobody")
    assert "unknown task 'pain'" in one_line_error(capsys, "predict", ws, "--run", "r", "--tasks", "au,pain")
    assert "run r has no fold 1: it has no folds" in one_line_error(capsys, "predict", ws, "--run", "r", "--fold", "1")
    (trained.runs_dir / "r" / "cnn" / "best.pt").write_bytes(b"")
    assert "best.pt is damaged (empty file)" in one_line_error(capsys, "predict", ws, "--run", "r")
    assert tree(trained.root)["runs/r/cnn/best.pt"][0] == 0
    after = tree(trained.root)
    del after["runs/r/cnn/best.pt"], before["runs/r/cnn/best.pt"]
    assert after == before


def test_predict_holds_the_writer_lock(trained: Workspace, hold_lock: Callable, tree: Callable) -> None:
    before = tree(trained.root)
    with hold_lock(trained.root, "affcurate merge"), pytest.raises(WorkspaceBusyError, match="affcurate merge"):
        predict(trained, "r")
    assert tree(trained.root) == before


def test_a_cross_validated_run_pre_labels_with_the_model_of_one_fold(trained: Workspace) -> None:
    folds = {"WolfgangLanger_Pexels": 0, "noface_face": 1, "single_face": 2, "face_noface": 2}
    io.write_parquet(pd.DataFrame({"video_id": list(folds), "subject": list(folds),
                                   "fold": np.array(list(folds.values()), np.int64)}), trained.splits_path)
    train_baseline(trained, models=["prior"], tasks=["au", "expr"], name="cv", folds=True, on_note=lambda _: None)
    table = (trained.runs_dir / "cv" / "benchmark.md").read_text()
    assert "| chance | mean " in table  # the mean of the folds' chance levels
    with pytest.raises(AffcurateError, match=r"run cv is cross-validated over 3 folds: .* --fold \(0-2\)"):
        predict(trained, "cv", model="prior")
    r = predict(trained, "cv", model="prior", fold=2, videos=HELD_OUT)
    assert r.annotator == "cv-fold2-prior" and sorted(r.written) == sorted(HELD_OUT)


# ---- the loop: train → predict → accept → merge ----------------------------------------------------------
def test_accepted_predictions_merge_into_labels_as_good_as_the_run_promised(trained: Workspace) -> None:
    """On held-out subjects the cnn beats the prior; its predictions for the held-out videos, accepted whole
    in the desk's session and merged, agree with the held-out truth within 0.02 of the run's test scores."""
    metrics = {m: json.loads((trained.runs_dir / "r" / m / "metrics.json").read_text()) for m in ("prior", "cnn")}
    cnn, prior = metrics["cnn"], metrics["prior"]
    assert cnn["au"]["f1_AU1"] > prior["au"]["f1_AU1"] + 0.2
    assert cnn["expr"]["f1_macro"] > prior["expr"]["f1_macro"] + 0.2 and cnn["va"]["ccc_valence"] > 0.5
    truth = LabelTable.read(trained, videos=HELD_OUT).frame
    main(["predict", str(trained.root), "--run", "r", "--videos", ",".join(HELD_OUT)])
    for vid in HELD_OUT:
        s = Session(trained, vid, "reviewer")
        last = s.n_frames - 1
        taken = [s.accept_machine("au", 0, last, au=au) for au in ("AU1", "AU12")]
        taken += [s.accept_machine("expr", 0, last), s.accept_machine("va", 0, last)]
        assert all(o is not None and o.annotator == "r-cnn" for o in taken)
        s.save()
        s.close()
    main(["merge", str(trained.root)])  # machine sources left out: what is merged is the reviewer's
    merged = LabelTable.read(trained).frame
    assert not merged["sources"].astype(str).str.contains("r-cnn").any()
    both = truth.merge(merged, on=["video_id", "frame"], suffixes=("_true", ""))
    assert len(both) == len(truth)  # every held-out frame has a merged label
    f1 = f1_score(both["AU1_true"].astype(int), both["AU1"].astype(int))
    assert abs(f1 - cnn["au"]["f1_AU1"]) <= 0.02
    e_true, e = both["expr_true"].astype(int), both["expr"].astype(int)
    assert abs(accuracy_score(e_true, e) - cnn["expr"]["accuracy"]) <= 0.02
    assert abs(ccc(both["valence"].to_numpy(np.float64), both["valence_true"].to_numpy(np.float64))
               - cnn["va"]["ccc_valence"]) <= 0.02
    assert both["arousal"].isna().all()  # the model was never taught arousal: nothing was accepted for it
