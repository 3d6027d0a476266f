"""Ingest on the real sample media: manifests, probing, constant-fps transcoding, frame maps, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import affcurate.commands.ingest as ingest_command
from affcurate.cli import main
from affcurate.errors import AffcurateError, InputError
from affcurate.executor import reporting
from affcurate.flow import ingest
from affcurate.media.ingest import ingest_media
from affcurate.media.probe import probe_video
from affcurate.media.transcode import TranscodeOptions
from affcurate.settings import IngestSettings
from affcurate.workspace import Workspace

VIDEOS = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov"]


def _out_pts_seconds(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return np.array([f.pts * float(s.time_base) for f in c.decode(s)])


@pytest.fixture(scope="module")
def ingested(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    src = tmp_path_factory.mktemp("videos")
    for name in VIDEOS:
        shutil.copy(samples / name, src / name)
    ws = Workspace.init(tmp_path_factory.mktemp("ws") / "ws")
    result = ingest(ws, src, faces=False)
    assert result.n_failed == 0
    return ws


def test_manifest_holds_the_probe_facts(ingested: Workspace) -> None:
    m = ingested.manifest().set_index("video_id")
    assert set(m.index) == {"single_face", "WolfgangLanger_Pexels", "face_noface"}
    assert (m["status"] == "ok").all()
    w = m.loc["WolfgangLanger_Pexels"]
    assert (w["codec"], w["width"], w["height"], w["n_frames"]) == ("h264", 640, 360, 472)
    assert w["avg_fps"] == pytest.approx(24000 / 1001) and not w["vfr"] and w["has_audio"]
    assert len(w["sha256"]) == 64 and w["size"] == 1632292
    f = m.loc["face_noface"]
    assert f["codec"] == "hevc" and f["vfr"] and f["n_frames"] == 169
    assert m.loc["single_face", "duration"] == pytest.approx(2.4)


def test_single_face_frame_map_is_the_identity(ingested: Workspace) -> None:
    fm = ingested.frame_map("single_face")
    assert len(fm) == 72
    assert (fm["frame"] == np.arange(72)).all() and (fm["src_frame"] == np.arange(72)).all()
    assert not fm["repeated"].any()
    assert np.allclose(fm["src_time"], fm["time"])


def test_24_to_30_fps(ingested: Workspace) -> None:
    m = ingested.manifest().set_index("video_id").loc["WolfgangLanger_Pexels"]
    fm = ingested.frame_map("WolfgangLanger_Pexels")
    assert abs(len(fm) - round(m["duration"] * 30)) <= 1
    assert (np.diff(fm["src_frame"]) >= 0).all()
    shown = fm["src_frame"].value_counts()
    assert shown.min() >= 1 and shown.max() <= 2 and len(shown) == 472  # every source frame once or twice
    assert int(fm["repeated"].sum()) == len(fm) - 472
    # the frame shown is the one in force at that moment (nearest rounding)
    assert (np.abs(fm["src_time"] - fm["time"]) <= 1 / 30 + 1e-6).all()
    out = probe_video(ingested.video_path("WolfgangLanger_Pexels"))
    assert out["n_frames"] == len(fm) and out["avg_fps"] == pytest.approx(30) and out["codec"] == "h264"


def test_variable_rate_hevc_becomes_constant_30(ingested: Workspace) -> None:
    pts = _out_pts_seconds(ingested.video_path("face_noface"))
    fm = ingested.frame_map("face_noface")
    assert len(pts) == len(fm)
    assert np.allclose(np.diff(pts), 1 / 30, atol=1e-6)
    dropped = 169 - fm["src_frame"].nunique()
    assert dropped >= 0  # countable from the frame map
    with av.open(str(ingested.video_path("face_noface"))) as c:
        s = c.streams.video[0]
        assert s.codec_context.pix_fmt == "yuv420p" and s.average_rate == Fraction(30)


def test_rerun_skips_finished_videos_and_is_byte_identical(ingested: Workspace) -> None:
    before = {v: ingested.video_path(v).read_bytes() for v in ingested.video_ids()}
    mtimes = {v: ingested.video_path(v).stat().st_mtime_ns for v in before}
    result = ingest(ingested, faces=False)
    assert result.summary["skipped"].all()
    assert all(ingested.video_path(v).stat().st_mtime_ns == mtimes[v] for v in before)
    # a fresh transcode of the same input gives the same bytes (deterministic encoder settings)
    ingested.clear_done("transcode", "single_face")
    ingest(ingested, faces=False)
    assert ingested.video_path("single_face").read_bytes() == before["single_face"]


def test_changing_a_setting_redoes_the_video(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "v"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src)
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, src, faces=False)
    ws.save_settings(ws.settings.replace("ingest", fps=15.0, max_height=180))
    ws = Workspace.open(ws.root)
    result = ingest(ws, faces=False)
    assert not result.summary["skipped"].any()
    fm = ws.frame_map("single_face")
    assert len(fm) == 36 and np.allclose(np.diff(fm["time"]), 1 / 15)
    out = probe_video(ws.video_path("single_face"))
    assert (out["width"], out["height"]) == (320, 180)


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        t = np.arange(44100) / 44100
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_bad_inputs_never_stop_the_others(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    shutil.copy(samples / "single_face.mp4", src / "good_again.mp4")  # same content
    (src / "zero.mp4").write_bytes(b"")
    (src / "text.mp4").write_text("this is not a video\n")
    (src / "truncated.mp4").write_bytes((samples / "WolfgangLanger_Pexels.mp4").read_bytes()[:120_000])
    _audio_only(src / "sound.mp4")
    os.symlink(tmp_path / "nowhere.mp4", src / "dangling.mp4")
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(tmp_path / "ws"), "--videos", str(src), "--no-faces"])
    assert exit_info.value.code == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "1 of 7 videos ready, 1 duplicates, 5 failed" in out.out
    m = Workspace.open(tmp_path / "ws").manifest().set_index("video_id")
    assert m.loc["good", "status"] == "ok"
    assert m.loc["good_again", "status"] == "duplicate" and m.loc["good_again", "duplicate_of"] == "good"
    assert not Workspace.open(tmp_path / "ws").video_path("good_again").exists()
    errors = m["error"].dropna().to_dict()
    assert "empty file" in errors["zero"]
    assert "not a readable video" in errors["text"]
    assert "truncated" in errors["truncated"]
    assert "no video stream" in errors["sound"] and "audio" in errors["sound"]
    assert "not found" in errors["dangling"]
    assert all("\n" not in e for e in errors.values())


def test_list_csv_with_subjects_labels_and_metadata(samples: Path, tmp_path: Path) -> None:
    d = tmp_path / "clips"
    d.mkdir()
    shutil.copy(samples / "single_face.mp4", d / "a.mp4")
    shutil.copy(samples / "no_face.mp4", d / "b.mp4")
    lst = tmp_path / "list.csv"
    lst.write_text("path,video_id,subject,label,gender,licence\nclips/a.mp4,s01_take1,S01,happy,m,MIT\n"
                   "clips/b.mp4,,S02,,f,CC-BY\n")
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, list_csv=lst, faces=False)
    m = ws.manifest().set_index("video_id")
    assert list(m.index) == ["s01_take1", "b"]
    assert m.loc["s01_take1", "subject"] == "S01" and m.loc["s01_take1", "label"] == "happy"
    assert json.loads(m.loc["b", "meta"]) == {"gender": "f", "licence": "CC-BY"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,subject\nx.mp4,1\n", "list.csv:1: header file,subject has no 'path' column"),
        ("path,video_id\nx.mp4,../evil\n", "list.csv:2: invalid video id '../evil'"),
        ("path,subject\nx.mp4,S1,extra\n", "list.csv:2: 3 fields, expected 2"),
        ("path,target_track\nx.mp4,first\n", "list.csv:2: target_track 'first' is neither a side nor a track id, expected left, right or a whole number"),
    ],
)
def test_bad_list_files(tmp_path: Path, content: str, message: str) -> None:
    lst = tmp_path / "list.csv"
    lst.write_text(content)
    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(InputError) as err:
        ingest(ws, list_csv=lst, faces=False)
    assert str(err.value).startswith(message.replace("list.csv", str(lst), 1))
    assert not ws.manifest_path.exists()  # nothing written


def test_subject_regex_label_folders_and_unique_ids(samples: Path, tmp_path: Path) -> None:
    root = tmp_path / "emotions"
    for emotion, subject in [("happy", "p01"), ("sad", "p02")]:
        (root / emotion).mkdir(parents=True)
        shutil.copy(samples / "single_face.mp4", root / emotion / f"{subject}_clip.mp4")
    (root / "happy" / "p01_clip.mp4").write_bytes((root / "happy" / "p01_clip.mp4").read_bytes())
    shutil.copy(samples / "no_face.mp4", root / "sad" / "p02_clip.mp4")
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, root, subject_from=r"/(?P<subject>p\d+)_", label_from_folder=True, faces=False)
    m = ws.manifest().set_index("video_id")
    assert set(m["label"]) == {"happy", "sad"}
    assert set(m["subject"]) == {"p01", "p02"}
    assert m.index.is_unique
    with pytest.raises(AffcurateError, match="named group"):
        ingest(ws, root, subject_from=r"(p\d+)", faces=False)


def test_folder_of_numbered_images_is_one_video(samples: Path, tmp_path: Path) -> None:
    seq = tmp_path / "data" / "clip007"
    seq.mkdir(parents=True)
    import cv2

    cap = cv2.VideoCapture(str(samples / "single_face.mp4"))
    for i in range(1, 13):
        ok, img = cap.read()
        assert ok
        cv2.imwrite(str(seq / f"{i:05d}.png"), img)
    cap.release()
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, tmp_path / "data", image_fps=10, faces=False)
    m = ws.manifest().set_index("video_id")
    assert m.loc["clip007", "kind"] == "images" and m.loc["clip007", "n_frames"] == 12
    fm = ws.frame_map("clip007")
    assert len(fm) == 36  # 12 images at 10 fps = 1.2 s = 36 frames at 30 fps
    assert fm["src_name"].iloc[0] == "00001.png" and fm["src_name"].iloc[-1] == "00012.png"
    assert (fm.groupby("src_frame").size() == 3).all()


def test_rotation_is_applied_like_ffmpeg(samples: Path, tmp_path: Path) -> None:
    import imageio_ffmpeg

    ff = imageio_ffmpeg.get_ffmpeg_exe()
    rotated = tmp_path / "in" / "rot.mp4"
    rotated.parent.mkdir()
    subprocess.run([ff, "-y", "-loglevel", "error", "-display_rotation", "90", "-i",
                    str(samples / "single_face.mp4"), "-c", "copy", str(rotated)], check=True)
    reference = tmp_path / "ref.mp4"
    subprocess.run([ff, "-y", "-loglevel", "error", "-i", str(rotated), "-an", str(reference)], check=True)
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, rotated.parent, faces=False)
    assert ws.manifest()["rotation"].iloc[0] == 90
    with av.open(str(ws.video_path("rot"))) as a, av.open(str(reference)) as b:
        fa = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(float)
        fb = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    assert fa.shape == fb.shape == (640, 360, 3)
    assert np.abs(fa - fb).mean() < 4


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(samples: Path, tmp_path: Path, assert_same_video) -> None:
    src = tmp_path / "v"
    src.mkdir()
    for i, name in enumerate(["WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov"]):
        shutil.copy(samples / name, src / f"{i}_{name}")
    ref = Workspace.init(tmp_path / "ref")
    ingest(ref, src, faces=False)

    ws_dir = tmp_path / "ws"
    cmd = [sys.executable, "-m", "affcurate", "ingest", str(ws_dir), "--videos", str(src), "--no-faces"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done_dir = ws_dir / ".affcurate" / "done" / "transcode"
    deadline = time.time() + 120
    while time.time() < deadline and not (done_dir.exists() and any(done_dir.glob("[!.]*.json"))):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = {p.stem for p in done_dir.glob("[!.]*.json")}  # not a ledger entry being written
    assert 1 <= len(finished_before) < 3
    ws = Workspace.open(ws_dir)
    result = ingest(ws, src, faces=False)
    skipped = set(result.summary.loc[result.summary["skipped"], "video_id"])
    assert finished_before <= skipped
    for vid in ref.video_ids():
        assert_same_video(ws.video_path(vid), ref.video_path(vid))
        pd.testing.assert_frame_equal(ws.frame_map(vid), ref.frame_map(vid))
    # a temporary left by the kill never takes a video's name
    assert sorted(p.name for p in (ws_dir / "videos").glob("[!.]*")) == sorted(
        p.name for p in (tmp_path / "ref" / "videos").iterdir()
    )


def test_still_images_in_a_list_are_one_frame_videos(samples: Path, tmp_path: Path) -> None:
    lst = tmp_path / "photos.csv"
    lst.write_text(f"path,subject,label\n{samples / '0-f1-su-ph.jpg'},f1,Surprise\n"
                   f"{samples / '0-f15-hao-ph.jpg'},f15,Happiness\n")
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, list_csv=lst, image_fps=30, faces=False)
    m = ws.manifest().set_index("video_id")
    assert list(m.index) == ["0-f1-su-ph", "0-f15-hao-ph"]
    assert (m["kind"] == "images").all() and (m["n_frames"] == 1).all() and (m["status"] == "ok").all()
    fm = ws.frame_map("0-f1-su-ph")
    assert len(fm) == 1 and fm["src_name"].iloc[0] == "0-f1-su-ph.jpg"


def _temporaries(root: Path) -> list[Path]:
    """Files named like affcurate's temporaries (`.<name>.~<pid>~…`) anywhere in the workspace."""
    return [p for p in root.rglob(".*") if p.is_file() and ".~" in p.name]


@pytest.mark.slow
def test_two_ingests_at_once_one_refuses_naming_the_other(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "v"
    src.mkdir()
    for name in ["single_face.mp4", "face_noface.mov", "no_face.mp4"]:
        shutil.copy(samples / name, src / name)
    ws_dir = tmp_path / "ws"
    cmd = [sys.executable, "-m", "affcurate", "ingest", str(ws_dir), "--videos", str(src)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate() for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], outs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    err = outs[loser][1].strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"being written by `affcurate ingest` (pid {procs[winner].pid} " in err
    m = Workspace.open(ws_dir).manifest().set_index("video_id")
    assert (m["status"] == "ok").all() and m["error"].isna().all()
    assert m["faces_status"].to_dict() == {"single_face": "ok", "face_noface": "ok", "no_face": "no_face"}
    assert _temporaries(ws_dir) == []


@pytest.mark.slow
def test_a_killed_ingest_leaves_temporaries_that_the_next_run_removes(samples: Path, tmp_path: Path) -> None:
    src = tmp_path / "v"
    src.mkdir()
    shutil.copy(samples / "WolfgangLanger_Pexels.mp4", src / "long.mp4")
    ws_dir = tmp_path / "ws"
    cmd = [sys.executable, "-m", "affcurate", "ingest", str(ws_dir), "--videos", str(src), "--no-faces"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((ws_dir / "videos").glob(".long.mp4.~*")):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-transcode: the video's temporary is half written
    proc.wait()
    left = _temporaries(ws_dir)
    assert any(p.name.startswith(f".long.mp4.~{proc.pid}~") for p in left), left
    result = ingest(Workspace.open(ws_dir), src, faces=False)
    assert result.n_failed == 0
    assert _temporaries(ws_dir) == []


def test_symlink_loops_never_stop_the_others(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    os.symlink("b.mp4", src / "a.mp4")  # a → b → a
    os.symlink("a.mp4", src / "b.mp4")
    os.symlink("self.mp4", src / "self.mp4")
    os.symlink("..", src / "sub" / "up")  # a folder link back to the folder above it
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(tmp_path / "ws"), "--videos", str(src), "--no-faces"])
    assert exit_info.value.code == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert f"skipped {src / 'sub' / 'up'}: not followed, a link back to {src} (a loop)" in out.out
    assert "1 of 4 videos ready, 0 duplicates, 3 failed" in out.out
    m = Workspace.open(tmp_path / "ws").manifest().set_index("video_id")
    assert sorted(m.index) == ["a", "b", "good", "self"]
    assert m.loc["good", "status"] == "ok"
    for vid in ("a", "b", "self"):
        assert m.loc[vid, "status"] == "error" and "symbolic link loop" in m.loc[vid, "error"]


def test_a_transcode_error_is_listed_once_with_its_brackets(samples: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(ingest_command, "console", Console(width=400))  # long messages on one line
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src / "good.mp4")
    shutil.copy(samples / "no_face.mp4", src / "blocked.mp4")
    ws = Workspace.init(tmp_path / "ws[b]")
    ws.video_path("blocked").mkdir(parents=True)  # the transcoded video cannot take its name
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(ws.root), "--videos", str(src), "--no-faces"])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "1 of 2 videos ready, 0 duplicates, 1 failed" in out
    assert sum(line.startswith("│ blocked ") for line in out.splitlines()) == 1
    error = ws.manifest().set_index("video_id").loc["blocked", "error"]
    assert error.startswith("transcode failed:") and "ws[b]/videos" in error
    assert "ws[b]/videos" in out


def test_the_media_stage_runs_no_faces_and_reports_through_one_callback(samples: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "v"
    src.mkdir()
    shutil.copy(samples / "single_face.mp4", src)
    ws = Workspace.init(tmp_path / "ws")
    reports: list[tuple[str, int, int]] = []
    result = ingest_media(ws, src, progress=lambda what, done, total: reports.append((what, done, total)))
    assert result.n_failed == 0 and (result.manifest["status"] == "ok").all()
    assert capsys.readouterr().out == ""  # the library draws nothing
    assert not ws.faces_path("single_face").exists() and not ws.faces_status_path.exists()
    assert not {"faces_status", "faces_error"} & set(ws.manifest().columns)
    frames = [r for r in reports if r[0] == "frames"]
    assert frames[0] == ("frames", 0, 72) and frames[-1] == ("frames", 72, 72)
    assert len(frames) > 72  # frame by frame, as they are written
    assert {r[0] for r in reports} == {"probe", "frames", "transcode"}
    # the flow runs the faces stage after it; progress reaches it through `reporting`
    reports.clear()
    with reporting(lambda what, done, total: reports.append((what, done, total))):
        again = ingest(ws)
    assert again.summary["skipped"].all() and again.summary["faces_status"].tolist() == ["ok"]
    assert ("faces", 1, 1) in reports
    # the stages are peers: the media stage loads no module of the faces stage
    out = subprocess.run([sys.executable, "-c", "import sys, affcurate.media.ingest; "
                          "print([m for m in sys.modules if m.startswith('affcurate.faces')])"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_transcode_options_come_from_the_settings_in_one_place() -> None:
    s = IngestSettings(fps=25.0, max_height=480, keep_audio=True, crf=20, preset="fast", encoder_threads=3)
    o = TranscodeOptions.from_settings(s)
    assert (o.fps, o.max_height, o.keep_audio, o.crf, o.preset, o.threads) == (25.0, 480, True, 20, "fast", 3)
    # part of the transcode key: unchanged, so the videos of an existing workspace are not transcoded again
    assert repr(TranscodeOptions.from_settings(IngestSettings())) == repr(TranscodeOptions()) == (
        "TranscodeOptions(fps=30.0, max_height=0, keep_audio=True, crf=18, preset='veryfast', threads=2, gop=60)")
