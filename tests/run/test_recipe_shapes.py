"""Every recipe in pipelines/ (but demo, tested on its own) run end to end, as a new user would, on a small input
laid out exactly like its dataset (tests/run/shapes.py builds them from the real sample media), then checked as
a researcher would check the curation: every stage ran, the labels hold the dataset's videos and tasks, the split
is subject-independent (``affcurate split WS --check``), the report exists, the benchmark has the recipe's models.

The recipes train for the default 5 epochs; here the workspace is made first (``affcurate init``) and its
affcurate.toml asks for 1, which the run keeps because a recipe's settings only replace the keys it names.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import shapes
import tomli_w
import tomllib

from affcurate import io
from affcurate.cli import main
from affcurate.faces.table import FaceTracks
from affcurate.recipe import load_recipe
from affcurate.workspace import Workspace

PIPELINES = Path(__file__).parents[2] / "pipelines"


def _code(argv: list[str]) -> int:
    """The exit code of a command (0 when it returns)."""
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _run(recipe: str, shape: shapes.Shape, ws_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Workspace, str]:
    """``affcurate run pipelines/RECIPE.toml WS --var …`` on a workspace whose settings train for one epoch."""
    main(["init", str(ws_dir)])
    path = ws_dir / "affcurate.toml"
    settings = tomllib.loads(path.read_text())
    settings["train"]["epochs"] = 1  # a test-sized run; everything else as the recipe says
    path.write_text(tomli_w.dumps(settings))
    capsys.readouterr()
    code = _code(["run", str(PIPELINES / f"{recipe}.toml"), str(ws_dir), *shape.argv()])
    out, err = capsys.readouterr()
    assert code == 0, err
    return Workspace.open(ws_dir), out


def _image_ids(ws: Workspace, shards: pd.Series, frames: pd.Series) -> list[str]:
    """The image of each (shard, frame) of an image set, as images.parquet says."""
    images = pd.read_parquet(ws.images_path).set_index(["shard", "index"])["image_id"]
    return [str(images[(s, int(f))]) for s, f in zip(shards, frames, strict=True)]


def _curated(ws: Workspace, out: str, recipe: str, shape: shapes.Shape) -> pd.DataFrame:
    """What every curation must hold; returns labels.parquet."""
    r = load_recipe(PIPELINES / f"{recipe}.toml")
    for stage in r.stages:  # the end-of-run table: one row per stage of the recipe, each ran
        assert re.search(rf"│ {stage} +│ ran +│", out), f"stage {stage} did not run:\n{out}"
    m = ws.manifest()
    assert (m["status"] == "ok").all() and m["duplicate_of"].isna().all(), m[["video_id", "status", "error"]]
    labels = io.read_parquet(ws.labels_path)
    if ws.images_path.exists():  # an image set: each image is a frame of its shard
        labels["shard"] = labels["video_id"]
        labels["video_id"] = _image_ids(ws, labels["shard"], labels["frame"])
    assert set(labels["video_id"]) == shape.videos
    tasks = set(r.stages["train"]["tasks"])
    if "va" in tasks:
        assert labels[["valence", "arousal"]].notna().any(axis=None)
        assert labels[["valence", "arousal"]].abs().max().max() <= 1
    if "au" in tasks:
        aus = r.settings["labels"]["aus"]
        assert [a for a in aus if a not in labels.columns] == [] and (labels[aus] == 1).any(axis=None)
    if "expr" in tasks:
        assert labels["expr"].notna().any()
    # subject-independent: the check passes, and no subject is in two parts
    assert _code(["split", str(ws.root), "--check"]) == 0
    sp = io.read_parquet(ws.splits_path)
    part = "fold" if "fold" in sp.columns and sp["fold"].notna().all() else "split"
    assert sp.groupby("subject")[part].nunique().max() == 1
    held = sp.set_index("video_id")["subject"]
    for vid, subject in shape.subjects.items():
        assert held[vid] == subject
    assert (ws.reports_dir / "report.html").stat().st_size > 0 and (ws.reports_dir / "datacard.md").exists()
    bench = (ws.runs_dir / "benchmark.md").read_text()
    for model in r.stages["train"]["models"]:
        assert re.search(rf"\| {re.escape(model)} +\|", bench), f"{model} missing from the benchmark:\n{bench}"
    return labels


def test_expression_folders_va(samples: Path, tmp_path: Path, capsys) -> None:
    """Seed 000: clips in seven emotion folders, one identity each, per-frame VA; the folder is the expression."""
    shape = shapes.expression_folders(samples, tmp_path / "data")
    ws, out = _run("expression-folders-va", shape, tmp_path / "ws", capsys)
    labels = _curated(ws, out, "expression-folders-va", shape)
    classes = load_recipe(PIPELINES / "expression-folders-va.toml").settings["labels"]["expressions"]
    folder_class = {"happy": "Happiness", "neutral": "Neutral", "angry": "Anger", "disgust": "Disgust",
                    "fear": "Fear", "sad": "Sadness", "surprise": "Surprise"}
    by_video = labels.groupby("video_id")
    for folder, name, *_ in shapes.FOLDER_CLIPS:
        expr = by_video.get_group(name)["expr"]
        assert (expr == classes.index(folder_class[folder])).all(), (folder, name)
    # the VA of each frame is the file's value on that frame (the clips are 30 fps: the grid is their frames)
    name = shapes.FOLDER_CLIPS[0][1]
    given = pd.read_csv(shape.vars["VA"] / f"{name}.csv").set_index("frame")
    got = by_video.get_group(name).set_index("frame")
    assert np.allclose(got["valence"], given.loc[got.index, "valence"], atol=1e-3)
    sp = io.read_parquet(ws.splits_path)
    assert sp["subject"].nunique() == len(shapes.FOLDER_CLIPS)  # every clip is its own identity
    assert set(sp["split"]) == {"train", "test"}
    assert "AU1" not in (ws.reports_dir / "datacard.md").read_text()  # no AU task, no AUs listed


def test_affwild_au_va(samples: Path, tmp_path: Path, capsys) -> None:
    """Seed 001: Aff-Wild videos (one at 23.976 fps, one whose face leaves, one with two annotated people), AU
    annotations on the 30 fps videos, Aff-Wild's VA in the ABAW layout (one line per source frame)."""
    shape = shapes.affwild_au_va(samples, tmp_path / "data")
    ws, out = _run("affwild-au-va", shape, tmp_path / "ws", capsys)
    labels = _curated(ws, out, "affwild-au-va", shape)
    aus = list(shapes.SEED_AUS)
    assert (labels[aus] == 1).any(axis=1).all()  # keep = au-positive: only frames with at least one AU
    assert labels["has_face"].all()
    by_video = labels.groupby("video_id")
    # 118: the face leaves the picture part-way; the frames of sky are left out
    assert len(by_video.get_group("118")) < shapes.AFFWILD_CLIPS[5][4]
    # 105 runs at 23.976 fps: its lines of VA (one per source frame) are interpolated in time onto its 30 fps frames
    va = pd.read_csv(shape.vars["VA"] / "Validation_Set" / "105.txt")
    rows = by_video.get_group("105")
    expected = np.interp(rows["frame"] / 30, np.arange(len(va)) / float(shapes.NTSC_FILM), va["valence"])
    assert rows["valence"].notna().all() and np.allclose(rows["valence"], expected, atol=0.05)
    assert ws.manifest().set_index("video_id").loc["105", "out_frames"] == round(len(va) * 30 / float(shapes.NTSC_FILM))
    # two people in one video: two samples, each with its own subject, crops and labels
    for side in ("left", "right"):
        assert ws.crops_path(f"{shapes.DUO}_{side}").exists()
    sp = io.read_parquet(ws.splits_path).set_index("video_id")
    assert sp.loc["video45_1", "split"] == sp.loc["video45_2", "split"]  # one subject, two videos
    report = (ws.reports_dir / "report.md").read_text()
    fixes = report.split("## Length fixes", 1)[1].split("\n## ", 1)[0]
    assert "106" in fixes  # its ABAW file is one line longer than the video: fixed and reported
    card = (ws.reports_dir / "datacard.md").read_text()
    assert "AU26" not in card and "expressions" not in card.split("## Annotation protocol", 1)[1].split("##")[0]


def test_affwild_au_expr(samples: Path, tmp_path: Path, capsys) -> None:
    """Seed 003: an AU part and an expression part of Aff-Wild, three annotators, a label kept only where all three
    agree, AU-negative frames subsampled, a subject-independent train/validation/test split."""
    shape = shapes.affwild_au_expr(samples, tmp_path / "data")
    ws, out = _run("affwild-au-expr", shape, tmp_path / "ws", capsys)
    labels = _curated(ws, out, "affwild-au-expr", shape)
    agreement = io.read_parquet(ws.root / "agreement.parquet")
    assert set(agreement["n_annotators"]) == {3}
    files = {k: {vid: pd.read_csv(shape.vars[f"A{k}"] / f"{vid}.csv") for vid in shape.videos} for k in (1, 2, 3)}
    # unanimous expressions: where the three agree the label is theirs, elsewhere there is none
    vid = "106"
    calls = np.stack([files[k][vid]["expr"].to_numpy() for k in (1, 2, 3)])
    rows = labels[labels["video_id"] == vid].set_index("frame")
    classes = list(shapes.SEVEN)
    same = (calls == calls[0]).all(0)[rows.index]
    assert (rows["expr"][same] == [classes.index(c) for c in calls[0][rows.index][same]]).all()
    assert rows["expr"][~same].isna().all() and (~same).any()
    # AU-negative frames (all three say no AU on the frame) are subsampled to about 43 %
    aus = list(shapes.SEED_AUS)
    negative_in_files = sum(int(np.all([(files[k][v][aus] == 0).all(axis=1) for k in (1, 2, 3)], 0).sum())
                            for v in shapes.AU_PART)
    negative = (labels[aus].notna().all(axis=1) & (labels[aus] == 0).all(axis=1)).sum()
    assert 0.3 < negative / negative_in_files < 0.5
    # expression-only videos carry no AU labels, AU-only ones no expressions
    only_expr = labels[labels["video_id"].isin(shapes.EXPR_PART - shapes.AU_PART)]
    assert len(only_expr) and only_expr[aus].isna().all(axis=None)
    sp = io.read_parquet(ws.splits_path)
    assert set(sp["split"]) == {"train", "val", "test"}
    bench = (ws.runs_dir / "benchmark.md").read_text()
    for metric in ("AU mean F1", "EXPR acc", "EXPR macro-F1", "EXPR weighted-F1"):  # seed 003's metrics
        assert metric in bench


@pytest.fixture(scope="module")
def afewva_run(samples: Path, tmp_path_factory: pytest.TempPathFactory):
    """The AFEW-VA stand-in curated by afewva-5fold (shared by the tests of that recipe)."""
    root = tmp_path_factory.mktemp("afewva")
    return shapes.afewva(samples, root / "data"), root


def test_afewva_5fold(afewva_run, capsys) -> None:
    """Seed 004: AFEW-VA clip folders of PNG frames with <clip>.json (VA in -10..10, 68 landmarks per frame, the
    actor); the faces are the dataset's, the actors the subjects, five subject-independent folds."""
    shape, root = afewva_run
    ws, out = _run("afewva-5fold", shape, root / "ws", capsys)
    labels = _curated(ws, out, "afewva-5fold", shape)
    m = ws.manifest().set_index("video_id")
    for clip, actor, *_ in shapes.AFEW_CLIPS:
        assert m.loc[clip, "subject"] == actor  # the list names no subject: the clip's actor is
        assert FaceTracks.read(ws, clip).meta["detector"] == "given"  # the dataset's landmarks, not detection
    sp = io.read_parquet(ws.splits_path)
    assert sorted(sp["fold"].unique()) == [0, 1, 2, 3, 4]
    # the VA of a clip is its JSON's, divided by 10 (put on the 30 fps grid from the clip's 25 fps)
    doc = io.read_json(shape.vars["AFEWVA"] / "003" / "003.json")
    given = np.array([f["valence"] for f in doc["frames"].values()]) / 10
    got = labels.loc[labels["video_id"] == "003", "valence"]
    assert got.notna().all() and abs(got.mean() - given.mean()) < 0.05
    assert got.min() >= given.min() - 1e-6 and got.max() <= given.max() + 1e-6
    bench = (ws.runs_dir / "benchmark.md").read_text()
    for metric in ("RMSE", "PCC", "CCC", "ICC"):  # seed 004's metrics
        assert metric in bench
    run = next(p for p in ws.runs_dir.iterdir() if (p / "config.json").exists())
    assert io.read_json(run / "config.json")["va_bins"] == 10  # seed 004's VA-bin weighting


def test_afewva_5fold_trains_and_scores_every_fold(afewva_run, tmp_path: Path, capsys) -> None:
    """Seed 004 reports the mean over its five folds: the recipe's [train] asks for cross-validation (the folds
    of train-baseline --folds), so every fold is trained and scored."""
    shape, root = afewva_run
    text = (PIPELINES / "afewva-5fold.toml").read_text()
    recipe = tmp_path / "afewva-5fold.toml"
    recipe.write_text(text if re.search(r"(?m)^folds = true", text) else
                      text.replace('tasks = ["va"]', 'tasks = ["va"]\nfolds = true'))
    code = _code(["run", str(recipe), str(root / "ws"), *shape.argv()])
    err = capsys.readouterr().err
    assert code == 0, err
    ws = Workspace.open(root / "ws")
    runs = [io.read_json(p) for p in ws.runs_dir.glob("*/benchmark.json")]
    folds = [r for r in runs if r["config"]["folds"]]
    assert folds and {row["fold"] for row in folds[0]["per_fold"]} == {0, 1, 2, 3, 4}


def test_affectnet_mt(samples: Path, tmp_path: Path, capsys) -> None:
    """Seed 002: AffectNet images in numbered folders, training.csv and validation.csv with the face box, 68
    landmarks, expression code and VA (-2 undefined); faces from the labels, eye-line alignment, 224×224 crops,
    expression + VA, scored on AffectNet's validation set."""
    shape = shapes.affectnet(samples, tmp_path / "data")
    ws, out = _run("affectnet-mt", shape, tmp_path / "ws", capsys)
    labels = _curated(ws, out, "affectnet-mt", shape).set_index("video_id")
    classes = load_recipe(PIPELINES / "affectnet-mt.toml").settings["labels"]["expressions"]
    # AffectNet's codes in the recipe's seven classes; Contempt is not one of them, -2 is no valence-arousal
    to_class = {0: "Neutral", 1: "Happiness", 2: "Sadness", 3: "Surprise", 4: "Fear", 5: "Disgust", 6: "Anger"}
    assert not list(ws.root.rglob("*.mp4"))  # no video per image: an image set in shards
    sp = io.read_parquet(ws.splits_path).set_index("image_id")["split"]  # a row per image
    where = pd.read_parquet(ws.images_path).set_index("image_id")
    for file, part in (("training.csv", "train"), ("validation.csv", "test")):
        table = pd.read_csv(shape.vars["AFFECTNET"] / file)
        for row in table.itertuples():
            vid = Path(row.subDirectory_filePath).stem
            assert sp[vid] == part, (vid, file)  # AffectNet's own split, its validation set as the test set
            got = labels.loc[vid]
            if row.expression in to_class:
                assert got["expr"] == classes.index(to_class[row.expression]), vid
            else:
                assert pd.isna(got["expr"]), vid
            assert pd.isna(got["valence"]) if row.valence == -2 else got["valence"] == pytest.approx(row.valence)
            shard, index = str(where.loc[vid, "shard"]), int(where.loc[vid, "index"])
            tracks = FaceTracks.read(ws, shard)
            assert tracks.meta["detector"] == "given" and index in tracks.target().frame.tolist(), vid
            with h5py.File(ws.crops_path(shard)) as h5:
                assert h5["crops"].shape[1:3] == (224, 224) and index in h5["frames"][:].tolist()
    bench = (ws.runs_dir / "benchmark.md").read_text()
    assert "EXPR acc" in bench and "CCC mean" in bench
