"""A recipe whose ``[ingest] list`` names still images ingests them as an image set: shards, no video per image,
the faces ``[faces] from_labels`` gives used for the images it names, and the faces stage leaves the shards be."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.recipe import run
from affcurate.workspace import Workspace

STILLS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")
HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
RECIPE = """[recipe]
name = "stills"

[ingest]
list = "${IMAGES}"

[faces]
from_labels = { format = "FORMAT", paths = ["${AFFECTNET}"] }

[import]
sources = [{ format = "affectnet", paths = ["${AFFECTNET}"] }]

[merge]
"""


@pytest.fixture
def inputs(samples: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Four real faces in an AffectNet-like folder, a list of them, and a training.csv giving the first one's box."""
    folder = tmp_path / "Manually_Annotated_Images"
    folder.mkdir()
    for name in STILLS:
        shutil.copy(samples / name, folder / name)
    (tmp_path / "stills.csv").write_text("path\n" + "".join(f"Manually_Annotated_Images/{n}\n" for n in STILLS))
    official = tmp_path / "affectnet"
    official.mkdir()
    rows = [f"Manually_Annotated_Images/{STILLS[0]},100,110,300,320,,1,0.5,0.5"] + [
        f"Manually_Annotated_Images/{n},0,0,0,0,,{k},0.1,-0.2" for k, n in enumerate(STILLS[1:], start=2)]
    (official / "training.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    recipe = tmp_path / "stills.toml"
    recipe.write_text(RECIPE.replace("FORMAT", "affectnet"))
    return recipe, {"IMAGES": str(tmp_path / "stills.csv"), "AFFECTNET": str(official)}


def test_a_recipe_on_a_list_of_stills_makes_an_image_set(inputs, tmp_path: Path) -> None:
    recipe, variables = inputs
    result = run(recipe, tmp_path / "ws", variables=variables)
    assert result.ran == ["ingest", "faces", "import", "merge"] and result.failed_videos == 0
    ws = Workspace.open(tmp_path / "ws")
    images = pd.read_parquet(ws.images_path).set_index("image_id")
    assert len(images) == 4 and (images["status"] == "ok").all()
    assert set(images["shard"]) == {"stills-00000"}
    shard = "stills-00000"
    for path in (ws.frames_path(shard), ws.faces_path(shard), ws.crops_path(shard)):
        assert path.exists(), path
    assert not list(ws.root.rglob("*.mp4"))  # no video per image, nor one per shard
    assert not ws.manifest_path.exists() and ws.video_ids() == [] and ws.shard_ids() == [shard]
    # the box training.csv gives is the first image's face, not a detection
    tracks = FaceTracks.read(ws, shard)
    subject = tracks.target()
    box = subject.boxes[subject.frame.tolist().index(int(images.loc["0-f1-su-ph", "index"]))]
    assert np.allclose(box, [100, 110, 400, 430])
    entry = json.loads((ws.state_dir / "done" / "imageset" / f"{shard}.json").read_text())
    assert entry["n_crops"] == 4
    # the faces stage left the shard be: its table of video outcomes has no row for it
    assert result.outputs["faces"].empty
    assert ws.labels_path.exists() and len(pd.read_parquet(ws.labels_path)) == 4
    again = run(recipe, tmp_path / "ws", variables=variables)  # a second run finds every stage done
    assert again.failed_videos == 0 and again.ran == []


def test_faces_of_another_format_for_a_list_of_stills_stop_the_run_before_anything_is_written(inputs, tmp_path):
    recipe, variables = inputs
    recipe.write_text(recipe.read_text().replace('format = "affectnet", paths = ["${AFFECTNET}"] }\n\n[import]',
                                                 'format = "afew-va", paths = ["${AFFECTNET}"] }\n\n[import]'))
    with pytest.raises(AffcurateError, match="expected format affectnet for a list of still images"):
        run(recipe, tmp_path / "ws", variables=variables)
    assert not (tmp_path / "ws").exists()
