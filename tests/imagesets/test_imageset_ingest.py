"""`affcurate ingest WS --images DIR`: real JPEGs, one of them cut short, through the real CLI and detector."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from cli_code import exit_code
from still_images import truncate

from affcurate.faces.crops import CropReader
from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace


def _files(root: Path, folder: str) -> list[str]:
    d = root / folder
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def test_a_folder_of_stills_is_an_image_set_in_shards_and_a_corrupt_one_is_its_own_error(stills, tmp_path):
    folder = stills("imgs", flips=1)  # 12 real faces
    broken = truncate(folder / "single_face.jpg", folder / "zz_cut.jpg")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.png").write_bytes(b"not a picture at all")
    ws_dir = tmp_path / "ws"

    assert exit_code(["ingest", str(ws_dir), "--images", str(folder), "--shard-size", "5"]) == 1

    ws = Workspace.open(ws_dir)
    images = pd.read_parquet(ws.images_path)
    assert len(images) == 14  # one row per image, whatever became of it
    assert images["image_id"].is_unique
    bad = images.set_index("image_id").loc[["zz_cut", "notes"]]
    assert (bad["status"] == "error").all()
    for err, name in zip(bad["error"], ["zz_cut.jpg", "notes.png"], strict=True):
        assert "\n" not in err and name in err
    assert "truncated" in bad.loc["zz_cut", "error"]
    good = images[~images["image_id"].isin(["zz_cut", "notes"])]
    assert (good["status"] == "ok").all(), good[["image_id", "status"]]
    assert (good["width"] > 0).all() and good["sha256"].str.len().eq(64).all()

    # sharded storage: per shard one frame map, one faces table, one crop file; no video, no per-image file
    shards = sorted(images["shard"].unique())
    assert shards == ["imgs-00000", "imgs-00001", "imgs-00002"]
    assert images.groupby("shard").size().tolist() == [5, 5, 4]
    assert _files(ws_dir, "faces") == [f"{s}.parquet" for s in shards]
    assert _files(ws_dir, "crops") == [f"{s}.h5" for s in shards]
    assert _files(ws_dir, "frames") == [f"{s}.parquet" for s in shards]
    assert _files(ws_dir, "videos") == [] and not ws.manifest_path.exists()
    assert broken.exists()

    # a shard reads as a video: frame i is image i; the subject's crop of every image with a face
    m = ws.manifest()
    assert m["video_id"].tolist() == shards and (m["kind"] == "imageset").all() and (m["status"] == "ok").all()
    assert ws.video_ids() == [] and ws.shard_ids() == shards
    reader = CropReader(ws)
    for shard, part in images.groupby("shard"):
        tracks = FaceTracks.read(ws, shard)
        faced = sorted(part.loc[part["status"] == "ok", "index"].astype(int))
        assert tracks.target().frame.tolist() == faced
        assert tracks.n_frames == len(part)
        with h5py.File(ws.crops_path(shard)) as h5:
            assert h5["frames"][:].tolist() == faced
            assert h5["crops"].shape[1:] == (112, 112, 3)
        assert reader.crop(shard, 0).shape == (112, 112, 3)
        fm = ws.frame_map(shard)
        assert fm["frame"].tolist() == list(range(len(part)))
        names = dict(zip(part["index"].astype(int), part["path"].map(lambda p: Path(p).name), strict=True))
        assert fm["src_name"].tolist() == [names[i] for i in range(len(part))]
    # the group photo's subject is one face of several; the others are kept as other tracks
    row = images.set_index("image_id").loc["multi_face"]
    tracks = FaceTracks.read(ws, str(row["shard"]))
    on = tracks.frame == int(row["index"])
    assert on.sum() == int(row["n_faces"]) > 1 and tracks.is_target[on].sum() == 1


def test_a_list_of_image_files_is_an_image_set_not_a_video_per_image(stills, tmp_path):
    folder = stills("imgs", flips=0)
    lst = tmp_path / "list.csv"
    lines = ["path,subject,label"] + [f"{p.name},{'anna' if i < 2 else ''},happy"
                                      for i, p in enumerate(sorted(folder.iterdir()))]
    lst.write_text("\n".join(lines) + "\n")
    folder_list = folder / lst.name
    lst.rename(folder_list)
    assert exit_code(["ingest", str(tmp_path / "ws"), "--list", str(folder_list)]) == 0
    ws = Workspace.open(tmp_path / "ws")
    images = pd.read_parquet(ws.images_path)
    assert len(images) == 6 and (images["status"] == "ok").all()
    assert images["subject"].tolist()[:2] == ["anna", "anna"] and images["subject"][2:].isna().all()
    assert (images["label"] == "happy").all()
    assert not (tmp_path / "ws" / "videos").exists()


def test_faces_given_by_an_affectnet_csv_replace_detection(stills, tmp_path):
    folder = stills("imgs", flips=0)
    csv = tmp_path / "training.csv"
    csv.write_text("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
                   "arousal\nimgs/0-f1-su-ph.jpg,100,110,300,320,,1,0.5,0.5\n")
    code = exit_code(["ingest", str(tmp_path / "ws"), "--images", str(folder), "--given-faces", str(csv)])
    assert code == 0
    ws = Workspace.open(tmp_path / "ws")
    images = pd.read_parquet(ws.images_path).set_index("image_id")
    row = images.loc["0-f1-su-ph"]
    tracks = FaceTracks.read(ws, str(row["shard"]))
    subject = tracks.target()
    box = subject.boxes[subject.frame.tolist().index(int(row["index"]))]
    assert np.allclose(box, [100, 110, 400, 430])
    # the other images were detected as usual
    assert (images["status"] == "ok").all()
    entry = json.loads((ws.state_dir / "done" / "imageset" / f"{row['shard']}.json").read_text())
    assert entry["n_crops"] == 6
