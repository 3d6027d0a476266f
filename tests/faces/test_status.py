"""The faces stage's own table: its outcome per video and the subject picked by hand live there, never in the
manifest; the manifest users read shows them; workspaces of the previous version (faces status and picks in the
manifest) keep working."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.faces.stage import find_faces
from affcurate.faces.status import read_status
from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
from affcurate.workspace import Workspace


def _copy(ws: Workspace, to: Path) -> Workspace:
    shutil.copytree(ws.root, to)
    return Workspace.open(to)


def test_the_stage_keeps_its_outcome_in_its_own_table(faces_ws: Workspace) -> None:
    table = read_status(faces_ws).set_index("video_id")
    assert table["faces_status"].to_dict() == {"single_face": "ok", "face_noface": "ok", "no_face": "no_face"}
    assert table.loc["single_face", "n_tracks"] == 1 and table.loc["single_face", "target_frames"] == 72
    assert table["picked_track"].isna().all()
    stored = io.read_parquet(faces_ws.manifest_path)
    assert not {"faces_status", "faces_error"} & set(stored.columns)
    shown = faces_ws.manifest().set_index("video_id")
    assert shown.loc["no_face", "faces_status"] == "no_face" and shown["faces_error"].isna().all()


def test_a_workspace_of_the_previous_version_keeps_working(faces_ws: Workspace, tmp_path: Path) -> None:
    ws = _copy(faces_ws, tmp_path / "old")
    # as the previous version left it: the faces status and a pick (track 0 of single_face) in the manifest
    ws.faces_status_path.unlink()
    m = io.read_parquet(ws.manifest_path)
    m["target_track"] = pd.array([0 if v == "single_face" else None for v in m["video_id"]], dtype="Int64")
    m["faces_status"] = pd.array(["ok" if v != "no_face" else "no_face" for v in m["video_id"]], dtype="string")
    m["faces_error"] = pd.array([None] * len(m), dtype="string")
    ws.write_manifest(m)
    assert ws.manifest().set_index("video_id").loc["no_face", "faces_status"] == "no_face"
    # the media stage carries the old columns as they are; the faces stage honours the old pick
    ingest(ws, faces=False)
    assert ws.manifest().set_index("video_id").loc["no_face", "faces_status"] == "no_face"
    summary = find_faces(ws, ["single_face"])
    assert not summary["skipped"].any()
    assert FaceTracks.read(ws, "single_face").meta["target_method"] == "manual"
    shown = ws.manifest().set_index("video_id")
    assert shown.loc["single_face", "faces_status"] == "ok" and shown.loc["no_face", "faces_status"] == "no_face"
    assert shown.loc["single_face", "target_track"] == 0


def test_a_subject_from_the_list_is_honoured_and_a_pick_overrides_it(faces_ws: Workspace, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    ws = _copy(faces_ws, tmp_path / "ws")
    lst = tmp_path / "list.csv"
    path = io.read_parquet(ws.manifest_path).set_index("video_id").loc["single_face", "path"]
    lst.write_text(f"path,video_id,target_track\n{path},single_face,3\n")
    result = ingest(ws, list_csv=lst)
    row = result.summary.set_index("video_id").loc["single_face"]
    assert row["faces_status"] == "error" and "track 3 is not in this video; its tracks are [0]" in row["faces_error"]
    main(["faces", "pick", str(ws.root), "single_face", "0"])
    assert "single_face: track 0 is the subject on 72 of 72 frames" in capsys.readouterr().out
    assert io.read_parquet(ws.manifest_path).set_index("video_id").loc["single_face", "target_track"] == 3
    assert read_status(ws).set_index("video_id").loc["single_face", "picked_track"] == 0
    shown = ws.manifest().set_index("video_id").loc["single_face"]
    assert shown["faces_status"] == "ok" and shown["target_track"] == 0 and pd.isna(shown["faces_error"])
    # a rerun keeps the pick and has nothing to redo
    assert find_faces(ws, ["single_face"])["skipped"].all()
