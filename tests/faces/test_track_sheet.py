"""`affcurate faces show`: a picture of a video's face tracks, one row per track with the subject marked, whose
ids are those `faces pick` takes; and the report's Tracks section with one sheet per video of several tracks."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.faces.sheet import GREEN, HEADER, LABEL, MARK, PAD, ROW, THUMB, track_sheet
from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotations
from affcurate.workspace import Workspace

HALF = (320, 360)  # each person's half of the shared `duo` video


@pytest.fixture(scope="module")
def duo_ws(duo: Path, samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two videos ingested with the faces stage: ``duo`` (two people side by side) and ``solo`` (one)."""
    src = tmp_path_factory.mktemp("sheet-src")
    shutil.copy(duo, src / "duo.mp4")
    shutil.copy(samples / "single_face.mp4", src / "solo.mp4")
    ws = Workspace.init(tmp_path_factory.mktemp("sheet") / "ws")
    assert ingest(ws, src).n_failed == 0
    return ws


@pytest.fixture
def ws_copy(duo_ws: Workspace, tmp_path: Path) -> Workspace:
    return Workspace.open(shutil.copytree(duo_ws.root, tmp_path / "ws"))


def _cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_sheet_has_one_row_per_track_and_marks_the_subject(ws_copy: Workspace, capsys) -> None:
    ws = ws_copy
    tracks = FaceTracks.read(ws, "duo")
    assert len(tracks.track_ids) >= 2  # one person on each side

    assert _cli(["faces", "show", str(ws.root), "duo"]) == 0
    out = capsys.readouterr().out.splitlines()
    path = ws.reports_dir / "tracks" / "duo.png"
    assert out[0] == str(path) and path.exists()
    img = cv2.imread(str(path))
    assert img.shape[0] == HEADER + ROW * len(tracks.track_ids) + PAD  # one row per track, nothing else
    # one line per track: its id, and "subject" on the subject's line alone
    lines = {int(line.split()[0]): line for line in out[2:]}
    assert sorted(lines) == tracks.track_ids
    assert [t for t, line in lines.items() if line.rstrip().endswith("subject")] == [tracks.target_track]

    sheet = track_sheet(ws, "duo")
    assert [r.track_id for r in sheet.rows] == tracks.track_ids and sheet.subject == tracks.target_track
    for k, r in enumerate(sheet.rows):
        bar = img[HEADER + k * ROW + ROW // 2, MARK // 2]
        assert (tuple(int(c) for c in bar) == GREEN) == r.is_subject  # the subject's row has the green bar
        assert r.frames == len(np.unique(tracks.track(r.track_id).frame)) and 1 <= len(r.thumb_frames) <= 5
    for k, r in enumerate(sheet.rows):
        for j in range(len(r.thumb_frames)):  # each thumbnail is a cut of the video, not a grey square
            y, x = HEADER + k * ROW + PAD, LABEL + j * (THUMB + PAD)
            assert img[y:y + THUMB, x:x + THUMB].std() > 10

    # the id shown is the id `faces pick` takes
    other = next(t for t in tracks.track_ids if t != tracks.target_track and len(tracks.track(t)) > 20)
    assert _cli(["faces", "pick", str(ws.root), "duo", str(other)]) == 0
    capsys.readouterr()
    again = track_sheet(ws, "duo")
    assert again.subject == other and [r.track_id for r in again.rows] == tracks.track_ids
    picked = FaceTracks.read(ws, "duo").target()
    cx = (picked.boxes[:, 0] + picked.boxes[:, 2]) / 2
    old = tracks.target()
    old_cx = (old.boxes[:, 0] + old.boxes[:, 2]) / 2
    assert (np.median(cx) < HALF[0]) != (np.median(old_cx) < HALF[0])  # the other person


def test_an_unknown_video_or_one_without_faces_is_one_line_and_writes_nothing(ws_copy: Workspace, capsys) -> None:
    ws = ws_copy
    assert _cli(["faces", "show", str(ws.root), "nobody"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nobody: no such video" in err and len(err.splitlines()) == 1
    ws.faces_path("solo").unlink()
    assert _cli(["faces", "show", str(ws.root), "solo"]) == 2
    err = capsys.readouterr().err.strip()
    assert "faces of solo are missing" in err and len(err.splitlines()) == 1
    assert _cli(["faces", "show", str(ws.root), "duo", "--out", str(ws.root / "duo.jpg")]) == 2
    assert "expected a path ending in .png" in capsys.readouterr().err
    assert not (ws.reports_dir / "tracks").exists() and not (ws.root / "duo.jpg").exists()


def test_out_writes_the_png_where_asked(ws_copy: Workspace, tmp_path: Path, capsys) -> None:
    target = tmp_path / "elsewhere" / "duo tracks.png"
    assert _cli(["faces", "show", str(ws_copy.root), "duo", "--out", str(target)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == str(target)
    assert cv2.imread(str(target)) is not None
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_the_report_links_a_sheet_for_each_video_of_several_tracks(ws_copy: Workspace, capsys) -> None:
    ws = ws_copy
    for vid in ("duo", "solo"):
        n = FaceTracks.read(ws, vid).n_frames
        data = {"frame": np.arange(n), "AU12": (np.arange(n) % 2).astype(int)}
        write_annotations(ws, [Annotation(vid, "au", "ann1", pd.DataFrame(data), source="test", clock="grid",
                                          time_base="frame", shape="dense", complete=True)])
    ws.save_settings(ws.settings.replace("labels", aus=["AU12"]))
    ws = Workspace.open(ws.root)
    merge(ws)
    several = [v for v in ("duo", "solo") if len(FaceTracks.read(ws, v).track_ids) > 1]
    assert "duo" in several
    assert _cli(["report", str(ws.root)]) == 0
    md = (ws.reports_dir / "report.md").read_text()
    html = (ws.reports_dir / "report.html").read_text()
    assert "## Tracks" in md and "<h2>Tracks</h2>" in html
    for vid in ("duo", "solo"):
        sheet = ws.reports_dir / "tracks" / f"{vid}.png"
        assert sheet.exists() == (vid in several)
        assert (f"(tracks/{vid}.png)" in md) == (vid in several)  # a link relative to reports/
        assert (f"tracks/{vid}.png" in html) == (vid in several)
    assert html.count("data:image/png;base64,") >= len(several) + 1  # the sheets are embedded too
