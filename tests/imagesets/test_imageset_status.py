"""`affcurate status WS` on a workspace of image sets: the images by status, the shards written, each failed
image with its error under ingest, and nothing that asks for the shards to be transcoded."""

from __future__ import annotations

import json
import shutil

import pytest
from cli_code import exit_code
from still_images import truncate

from affcurate.cli import main
from affcurate.imagesets.table import read_images, write_images
from affcurate.workspace import Workspace

HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # a whole line of the screen stays on one line


@pytest.fixture
def imageset(stills, tmp_path) -> Workspace:
    """Six real faces and a JPEG cut short, in three shards of three."""
    folder = stills("imgs", flips=0)
    truncate(folder / "single_face.jpg", folder / "zz_cut.jpg")
    assert exit_code(["ingest", str(tmp_path / "ws"), "--images", str(folder), "--shard-size", "3"]) == 1
    return Workspace.open(tmp_path / "ws")


def _status(capsys: pytest.CaptureFixture, ws: Workspace, *flags: str) -> str:
    main(["status", str(ws.root), *flags])
    return capsys.readouterr().out


def test_status_counts_the_images_and_names_the_failed_one(imageset, capsys):
    screen = _status(capsys, imageset)
    assert "7 images in 3 image-set shards (3 written): 6 ok, 0 no face, 1 failed, 0 pending" in screen
    assert "not transcoded" not in screen and "no faces yet" not in screen and "--videos DIR" not in screen
    failed = screen[screen.index("failed"):]
    row = next(line for line in failed.splitlines() if "zz_cut" in line)
    assert "ingest" in row and "truncated" in row
    data = json.loads(_status(capsys, imageset, "--json"))
    assert data["images"] == {"images": 7, "ok": 6, "no_face": 0, "error": 1, "pending": 0, "shards": 3,
                              "shards_done": 3}
    assert data["videos"]["total"] == 0  # the shards are no videos of the manifest
    assert [(f["stage"], f["id"]) for f in data["failed"]] == [("ingest", "zz_cut")]
    assert "truncated" in data["failed"][0]["error"]
    images = data["stages"]["images"]
    assert (images["state"], images["done"], images["failed"], images["missing"]) == ("failed", 6, 1, 0)
    assert list(data["stages"])[:3] == ["ingest", "images", "faces"]
    for stage in ("ingest", "faces", "subjects"):  # nothing of the videos' stages is left to do
        assert (data["stages"][stage]["state"], data["stages"][stage]["missing"]) == ("done", 0), stage
    assert data["next"]["stage"] == "import"  # no labels yet: the next thing to do, not a transcode


def test_annotations_on_a_shard_count_as_that_shards_import(imageset, capsys, tmp_path):
    csv = tmp_path / "training.csv"
    csv.write_text(f"{HEADER}\nimgs/0-f1-su-ph.jpg,0,0,0,0,,1,0.5,0.5\n")
    assert exit_code(["import", str(imageset.root), "--format", "affectnet", str(csv)]) == 0
    capsys.readouterr()
    data = json.loads(_status(capsys, imageset, "--json"))
    imported = data["stages"]["import"]
    assert (imported["state"], imported["done"], imported["missing"]) == ("done", 1, 2)
    assert not any("not ingested" in why for why in imported["why"])


def test_a_shard_still_to_process_is_pending_and_ingest_resumes_it(imageset, capsys):
    # what a run killed before its second shard was marked done leaves: the rows pending, no ledger entry
    table = read_images(imageset)
    table.loc[table["shard"] == "imgs-00001", ["status", "error"]] = ["pending", None]
    write_images(imageset, table)
    (imageset.state_dir / "done" / "imageset" / "imgs-00001.json").unlink()
    data = json.loads(_status(capsys, imageset, "--json"))
    assert (data["images"]["shards_done"], data["images"]["pending"]) == (2, 3)
    assert data["stages"]["images"]["state"] == "missing"
    assert data["next"]["stage"] == "images" and data["next"]["command"] == f"affcurate ingest {imageset.root}"
    assert "3 images in 1 shard not processed yet" in _status(capsys, imageset)


def test_beside_a_video_the_shards_are_counted_as_images_not_as_videos(imageset, samples, capsys, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(samples / "single_face.mp4", clips / "single_face.mp4")
    assert exit_code(["ingest", str(imageset.root), "--videos", str(clips)]) == 0
    capsys.readouterr()
    data = json.loads(_status(capsys, imageset, "--json"))
    assert data["videos"]["total"] == 1 and data["images"]["images"] == 7
    for stage in ("ingest", "faces"):
        s = data["stages"][stage]
        assert (s["state"], s["done"], s["missing"]) == ("done", 1, 0), stage
        assert not [i for i in s["items"] if i["id"].startswith("imgs-")]
    assert [(f["stage"], f["id"]) for f in data["failed"]] == [("ingest", "zz_cut")]
    screen = _status(capsys, imageset)
    assert "1 videos in the manifest" in screen and "not transcoded yet" not in screen


def test_shards_made_with_other_faces_settings_are_stale_until_ingest_redoes_them(imageset, capsys):
    imageset.save_settings(imageset.settings.replace("faces", crop_size=96))
    ws = Workspace.open(imageset.root)
    data = json.loads(_status(capsys, ws, "--json"))
    images = data["stages"]["images"]
    assert (images["state"], images["done"], images["stale"], images["failed"]) == ("stale", 0, 6, 1)
    # the third shard holds only the cut JPEG: nothing of it was done to be stale
    assert "6 images in 2 shards stale: the [faces] settings changed (faces.crop_size 112 → 96)" in images["why"]
    assert sorted(i["id"] for i in images["items"] if i["state"] == "stale") == ["imgs-00000", "imgs-00001"]
    assert data["next"]["stage"] == "images" and data["next"]["command"] == f"affcurate ingest {ws.root}"
    assert "6 images in 2 shards stale" in _status(capsys, ws)
    assert exit_code(["ingest", str(ws.root)]) == 1  # the cut JPEG fails again; the shards are made anew
    capsys.readouterr()
    images = json.loads(_status(capsys, ws, "--json"))["stages"]["images"]
    assert (images["state"], images["done"], images["stale"]) == ("failed", 6, 0)
