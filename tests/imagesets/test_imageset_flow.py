"""An image set through the whole flow: AffectNet labels imported onto its shards, merge, split (computed, each
image its own subject, and AffectNet's official split adopted image by image), report, train and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code

from affcurate.exports import frame_index
from affcurate.labels.table import LabelTable
from affcurate.train.data import build_index
from affcurate.workspace import Workspace

HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
CODES = {"Neutral": 0, "Happiness": 1, "Sadness": 2, "Surprise": 3, "Fear": 4, "Disgust": 5, "Anger": 6}


@pytest.fixture
def labelled(stills, tmp_path):
    """A workspace of 12 real faces (in 3 shards of 4), 8 of them in training.csv and 4 in validation.csv, each
    with an expression and valence-arousal of its own."""
    folder = stills("Manually_Annotated_Images", flips=1)
    ws_dir = tmp_path / "ws"
    assert exit_code(["ingest", str(ws_dir), "--images", str(folder), "--shard-size", "4"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    classes = list(CODES)
    rows = {}
    for k, name in enumerate(names):
        rows[name] = (classes[k % len(classes)], round(-0.9 + 0.15 * k, 2), round(0.8 - 0.1 * k, 2))
    official = tmp_path / "affectnet"
    official.mkdir()
    for file, part in (("training.csv", names[::3] + names[1::3]), ("validation.csv", names[2::3])):
        lines = [HEADER] + [f"Manually_Annotated_Images/{n},0,0,0,0,,{CODES[rows[n][0]]},{rows[n][1]},{rows[n][2]}"
                            for n in part]
        (official / file).write_text("\n".join(lines) + "\n")
    return Workspace.open(ws_dir), official, rows


def test_affectnet_labels_land_on_each_image_of_its_shard(labelled):
    ws, official, rows = labelled
    assert exit_code(["import", str(ws.root), "--format", "affectnet", str(official / "training.csv"),
                      str(official / "validation.csv")]) == 0
    # one table per shard and task, not one per image
    assert sorted(p.name for p in (ws.annotations_dir / "affectnet" / "expr").iterdir()) == [
        "Manually_Annotated_Images-00000.parquet", "Manually_Annotated_Images-00001.parquet",
        "Manually_Annotated_Images-00002.parquet"]
    assert exit_code(["merge", str(ws.root)]) == 0
    labels = LabelTable.read(ws).frame
    images = pd.read_parquet(ws.images_path)
    where = labels.merge(images, left_on=["video_id", "frame"], right_on=["shard", "index"])
    assert len(where) == len(labels) == 12  # every image labelled once, on its own frame
    classes = list(ws.settings.labels.expressions)
    for r in where.itertuples():
        name, valence, arousal = rows[Path(r.path).name]
        assert classes[int(r.expr)] == name
        assert r.valence == pytest.approx(valence, abs=1e-6) and r.arousal == pytest.approx(arousal, abs=1e-6)


def test_split_report_train_and_export_work_image_by_image(labelled, tmp_path):
    ws, official, rows = labelled
    assert exit_code(["import", str(ws.root), "--format", "affectnet", str(official)]) == 0
    assert exit_code(["merge", str(ws.root)]) == 0

    # a computed split: each image its own subject, so images of one shard land in different parts
    assert exit_code(["split", str(ws.root), "--train", "0.75", "--test", "0.25"]) == 0
    sp = pd.read_parquet(ws.splits_path)
    assert len(sp) == 12 and sp["image_id"].is_unique and sp["subject"].is_unique
    assert sp.groupby("video_id")["split"].nunique().max() == 2
    assert exit_code(["split", str(ws.root), "--check"]) == 0

    # the official split, adopted image by image: training.csv → train, validation.csv → test
    assert exit_code(["split", str(ws.root), "--from", str(official)]) == 0
    sp = pd.read_parquet(ws.splits_path)
    images = pd.read_parquet(ws.images_path).set_index("image_id")
    validation = {ln.split(",")[0].split("/")[-1] for ln in (official / "validation.csv").read_text().splitlines()[1:]}
    for r in sp.itertuples():
        name = Path(images.loc[r.image_id, "path"]).name
        assert r.split == ("test" if name in validation else "train")
        assert (r.video_id, r.frame) == (images.loc[r.image_id, "shard"], images.loc[r.image_id, "index"])
    assert exit_code(["split", str(ws.root), "--check"]) == 0

    # training sees the images of each part; the export writes a frame per image with its part
    index = build_index(ws)
    assert sorted(index.table["split"].value_counts().to_dict().items()) == [("test", 4), ("train", 8)]
    frames = frame_index(ws)
    assert len(frames.keys) == 12
    assert exit_code(["report", str(ws.root)]) == 0
    md = (ws.reports_dir / "report.md").read_text()
    assert "train" in md and "test" in md
    assert exit_code(["train-baseline", str(ws.root), "--models", "prior", "--tasks", "expr,va",
                      "--name", "tiny"]) == 0
    assert (ws.runs_dir / "tiny" / "metrics.json").exists() or any((ws.runs_dir / "tiny").iterdir())
    out = tmp_path / "hf"
    assert exit_code(["export", str(ws.root), str(out), "--format", "hf"]) == 0
    import pyarrow.parquet as pq

    parts = {p.name.split("-")[0]: pq.read_table(p) for p in (out / "data").glob("*.parquet")}
    assert {k: v.num_rows for k, v in parts.items()} == {"train": 8, "test": 4}
    test = parts["test"].to_pandas()
    assert set(zip(test["video_id"], test["frame"], strict=True)) == {
        (images.loc[i, "shard"], images.loc[i, "index"]) for i in sp.loc[sp["split"] == "test", "image_id"]}
    assert np.isfinite(test["valence"]).all()


def test_two_copies_of_one_image_are_one_subject_in_a_split(stills, tmp_path):
    import shutil

    folder = stills("imgs", flips=0)
    shutil.copy(folder / "single_face.jpg", folder / "single_face_again.jpg")
    ws_dir = tmp_path / "ws"
    assert exit_code(["ingest", str(ws_dir), "--images", str(folder), "--shard-size", "4"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    csv = tmp_path / "training.csv"
    csv.write_text("\n".join([HEADER] + [f"imgs/{n},0,0,0,0,,{k % 7},0.1,0.2" for k, n in enumerate(names)]) + "\n")
    assert exit_code(["import", str(ws_dir), "--format", "affectnet", str(csv)]) == 0
    assert exit_code(["merge", str(ws_dir)]) == 0
    for seed in range(3):
        assert exit_code(["split", str(ws_dir), "--train", "0.5", "--test", "0.5", "--tolerance", "0.25",
                          "--seed", str(seed)]) == 0
        sp = pd.read_parquet(ws_dir / "splits.parquet").set_index("image_id")
        assert sp.loc["single_face", "split"] == sp.loc["single_face_again", "split"]
        assert sp.loc["single_face", "subject"] == sp.loc["single_face_again", "subject"]
        assert sp["subject"].nunique() == 6


def test_an_affectnet_export_has_a_row_per_image_and_imports_back_onto_the_same_frames(labelled, tmp_path):
    ws, official, rows = labelled
    assert exit_code(["import", str(ws.root), "--format", "affectnet", str(official)]) == 0
    assert exit_code(["merge", str(ws.root)]) == 0
    out = tmp_path / "out"
    assert exit_code(["export", str(ws.root), str(out), "--format", "affectnet"]) == 0
    written = pd.read_csv(out / "training.csv")
    assert len(written) == 12
    assert set(written["subDirectory_filePath"]) == {f"Manually_Annotated_Images/{n}" for n in rows}
    for r in written.itertuples():
        name, valence, arousal = rows[r.subDirectory_filePath.split("/")[-1]]
        assert r.expression == CODES[name] and r.valence == pytest.approx(valence, abs=1e-4)
        assert r.face_width > 0  # the subject's box on its image
    assert exit_code(["import", str(ws.root), "--format", "affectnet", "--annotator", "again",
                      str(out / "training.csv")]) == 0
    a = pd.read_parquet(ws.annotation_path("affectnet", "expr", "Manually_Annotated_Images-00000"))
    b = pd.read_parquet(ws.annotation_path("again", "expr", "Manually_Annotated_Images-00000"))
    assert a[["start", "expr"]].sort_values("start").to_numpy().tolist() == b[["start", "expr"]].sort_values(
        "start").to_numpy().tolist()
