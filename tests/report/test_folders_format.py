"""`import --format folders`: the emotion folder a clip was ingested from (seed 000) becomes its expression on
every frame, in the workspace's classes; a folder name that means no class is one line naming it and the
classes, and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_code import exit_code as _cli

from affcurate import io
from affcurate.flow import ingest
from affcurate.labels.formats.folders import class_of
from affcurate.labels.model import list_annotations, read_annotation
from affcurate.workspace import Workspace

CLASSES = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]  # seed 000's recipe




@pytest.fixture
def folders_ws(samples: Path, tmp_path: Path) -> tuple[Workspace, Path]:
    """Two clips in emotion folders (``happy/``, ``SURPRISED/``), ingested with --label-from-folder."""
    clips = tmp_path / "clips"
    for folder, name in (("happy", "single_face.mp4"), ("SURPRISED", "no_face.mp4")):
        (clips / folder).mkdir(parents=True)
        shutil.copy(samples / name, clips / folder / name)
    ws = Workspace.init(tmp_path / "ws")
    ws.save_settings(ws.settings.replace("labels", expressions=CLASSES))
    ws = Workspace.open(ws.root)
    ingest(ws, clips, label_from_folder=True, faces=False)
    return ws, clips


def _expressions(ws: Workspace) -> dict[str, set[str]]:
    labels = io.read_parquet(ws.labels_path)
    return {vid: {CLASSES[int(e)] for e in part["expr"]} for vid, part in labels.groupby("video_id")}


def test_the_folder_is_the_expression_of_every_frame(folders_ws, capsys) -> None:
    ws, _ = folders_ws
    m = ws.manifest().set_index("video_id")
    assert set(m["label"]) == {"happy", "SURPRISED"}
    assert _cli(["import", str(ws.root), str(ws.manifest_path), "--format", "folders"]) == 0
    assert "2 annotation tables written" in capsys.readouterr().out
    ann = list_annotations(ws)
    assert set(ann["annotator"]) == {"folder"} and set(ann["task"]) == {"expr"}
    assert _cli(["merge", str(ws.root), "--keep-no-face"]) == 0
    labels = io.read_parquet(ws.labels_path)
    assert _expressions(ws) == {"single_face": {"Happiness"}, "no_face": {"Surprise"}}
    for vid, part in labels.groupby("video_id"):
        # every frame of the clip, none left unlabelled
        assert part["expr"].notna().all() and len(part) == int(m.loc[vid, "out_frames"])


def test_the_workspace_or_the_source_folder_reads_the_same(folders_ws) -> None:
    ws, clips = folders_ws
    written = {}
    for path in (ws.root, clips):
        assert _cli(["import", str(ws.root), str(path), "--format", "folders"]) == 0
        written[path] = {r.video_id: read_annotation(r.path).data.to_dict("list")
                         for r in list_annotations(ws).itertuples()}
    assert written[ws.root] == written[clips] and len(written[clips]) == 2


def test_a_folder_that_names_no_class_is_one_line_and_nothing_is_written(folders_ws, samples: Path,
                                                                         capsys) -> None:
    ws, clips = folders_ws
    (clips / "bored").mkdir()
    shutil.copy(samples / "face_noface.mov", clips / "bored" / "face_noface.mov")
    ingest(ws, clips, label_from_folder=True, faces=False)
    capsys.readouterr()
    assert _cli(["import", str(ws.root), str(ws.manifest_path), "--format", "folders"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "'bored'" in err and "face_noface" in err and ", ".join(CLASSES) in err
    assert not ws.annotations_dir.exists() or list_annotations(ws).empty


def test_a_manifest_without_labels_says_how_to_get_them(samples: Path, tmp_path: Path, capsys) -> None:
    clips = tmp_path / "clips"
    (clips / "happy").mkdir(parents=True)
    shutil.copy(samples / "single_face.mp4", clips / "happy" / "a.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, clips, faces=False)  # without --label-from-folder
    capsys.readouterr()
    assert _cli(["import", str(ws.root), str(ws.manifest_path), "-f", "folders"]) == 2
    err = capsys.readouterr().err
    assert "--label-from-folder" in err and "Traceback" not in err
    # the source folder still names each clip's folder
    assert _cli(["import", str(ws.root), str(clips), "-f", "folders"]) == 0
    a = read_annotation(list_annotations(ws)["path"].iloc[0])
    assert a.data["expr"].tolist() == [ws.settings.labels.expressions.index("Happiness")]


@pytest.mark.parametrize(("name", "expected"), [
    ("happy", "Happiness"), ("HAPPINESS", "Happiness"), ("angry", "Anger"), ("Sad", "Sadness"),
    ("surprised", "Surprise"), ("scared", "Fear"), ("fearful", "Fear"), ("disgusted", "Disgust"),
    ("neutral", "Neutral"), ("03_sad", "Sadness"), ("contempt", None), ("bored", None)])
def test_names_and_synonyms_map_to_the_workspace_classes(name: str, expected: str | None) -> None:
    k = class_of(name, CLASSES)
    assert (None if k is None else CLASSES[k]) == expected
    assert class_of("contemptuous", [*CLASSES, "Contempt"]) == len(CLASSES)
