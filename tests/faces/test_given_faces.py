"""Faces a dataset gives with its labels (AFEW-VA landmarks and actor, AffectNet box and landmarks) feed the faces
stage instead of detection: `affcurate faces run WS --from-labels FORMAT PATH`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import h5py
import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.faces.detectors import make_detector
from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace, safe_video_id

N = 12


def _sixty_eight(five: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68 points whose eyes, nose tip and mouth corners are the detector's 5 (the rest on the box outline)."""
    x1, y1, x2, y2 = box
    t = np.linspace(0, 1, 68)
    lm = np.stack([x1 + (x2 - x1) * t, y1 + (y2 - y1) * np.abs(np.sin(np.pi * t))], 1)
    lm[36:42], lm[42:48], lm[30], lm[48], lm[54] = five[0], five[1], five[2], five[3], five[4]
    return lm


@pytest.fixture(scope="module")
def afewva(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """An AFEW-VA clip as the dataset ships it: PNG frames and <clip>.json with VA, 68 landmarks and the actor;
    the landmarks are those of the real face on each frame (from the detector)."""
    root = tmp_path_factory.mktemp("afewva") / "clip01"
    root.mkdir()
    detect = make_detector("centerface")
    frames, truth = {}, {}
    with av.open(str(samples / "single_face.mp4")) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == N:
                break
            rgb = f.to_ndarray(format="rgb24")
            cv2.imwrite(str(root / f"{i:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            d = detect(rgb)
            k = int(np.argmax(d.scores))
            truth[i] = d.landmarks[k]
            frames[f"{i:05d}"] = {"valence": 2.0, "arousal": -1.0,
                                  "landmarks": _sixty_eight(d.landmarks[k], d.boxes[k]).round(2).tolist()}
    (root / "clip01.json").write_text(json.dumps({"video_id": "clip01", "actor": "Jane_Doe", "frames": frames}))
    return root, truth


def test_afewva_landmarks_and_actor_feed_the_faces_stage(afewva, tmp_path: Path, capsys) -> None:
    clip, truth = afewva
    ws_dir = tmp_path / "ws"
    main(["init", str(ws_dir)])
    main(["ingest", str(ws_dir), "--videos", str(clip.parent), "--image-fps", "30", "--no-faces"])
    main(["faces", "run", str(ws_dir), "--from-labels", "afew-va", str(clip / "clip01.json")])
    out = capsys.readouterr().out
    assert "faces given for 1 videos" in out
    ws = Workspace.open(ws_dir)
    t = FaceTracks.read(ws, "clip01")
    assert t.meta["detector"] == "given" and t.meta["target_method"] == "given"
    assert list(t.target().frame) == list(range(N))
    for f, five in truth.items():  # the template's 5 points, from the given 68
        assert np.allclose(t.landmarks[f], five, atol=0.02)
    with h5py.File(ws.crops_path("clip01")) as h5:
        crops = h5["crops"][:]
        assert crops.shape[0] == N and crops.mean() > 40  # a face, not the black outside of a bad warp
    m = ws.manifest().set_index("video_id")
    assert m.loc["clip01", "subject"] == "Jane_Doe"  # the actor, where the list named no subject
    # the same files again: nothing to redo
    main(["faces", "run", str(ws_dir), "--from-labels", "afew-va", str(clip / "clip01.json")])
    assert FaceTracks.read(ws, "clip01").meta == t.meta


def test_affectnet_boxes_and_landmarks_feed_the_faces_stage(samples: Path, tmp_path: Path, capsys) -> None:
    images = tmp_path / "Manually_Annotated_Images" / "1"
    images.mkdir(parents=True)
    rows = ["subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"]
    detect = make_detector("centerface")
    expected = {}
    for name in ("0-f1-su-ph.jpg", "45-m7-di-ph.jpg"):
        shutil.copy(samples / name, images / name)
        rgb = cv2.cvtColor(cv2.imread(str(images / name)), cv2.COLOR_BGR2RGB)
        d = detect(rgb)
        k = int(np.argmax(d.scores))
        x1, y1, x2, y2 = d.boxes[k]
        lm = ";".join(f"{v:.2f}" for v in _sixty_eight(d.landmarks[k], d.boxes[k]).ravel())
        rows.append(f"1/{name},{x1:.0f},{y1:.0f},{x2 - x1:.0f},{y2 - y1:.0f},{lm},3,0.5,0.5")
        expected[safe_video_id(Path(name).stem)] = d.landmarks[k]
    rows.append("1/missing.jpg,0,0,0,0,,0,0,0")  # no face given: left to nothing
    csv = tmp_path / "training.csv"
    csv.write_text("\n".join(rows) + "\n")
    ws_dir = tmp_path / "ws"
    main(["init", str(ws_dir)])
    listing = tmp_path / "images.csv"  # each image a sample of its own: an image set
    listing.write_text("path\n" + "".join(f"{p}\n" for p in sorted(images.iterdir())))
    main(["ingest", str(ws_dir), "--list", str(listing), "--given-faces", str(csv)])
    ws = Workspace.open(ws_dir)
    table = pd.read_parquet(ws.images_path).set_index("image_id")
    assert sorted(table.index) == sorted(expected) and (table["status"] == "ok").all()
    for image, five in expected.items():
        row = table.loc[image]
        subject = FaceTracks.read(ws, str(row["shard"])).target()
        at = subject.frame.tolist().index(int(row["index"]))
        assert np.allclose(subject.landmarks[at], five, atol=0.6)  # the CSV's 68 points, as five


def test_from_labels_of_a_format_without_faces_is_one_line(tmp_path: Path, capsys) -> None:
    ws_dir = tmp_path / "ws"
    main(["init", str(ws_dir)])
    f = tmp_path / "x.txt"
    f.write_text("valence,arousal\n0,0\n")
    with pytest.raises(SystemExit) as exc:
        main(["faces", "run", str(ws_dir), "--from-labels", "abaw", str(f)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.endswith("format 'abaw' gives no face geometry; formats that do: afew-va, "
                                                "affectnet")
