"""FaceTracks: the faces table read back exactly, the subject's rows, box and mask, and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.errors import AffcurateError, InputError
from affcurate.faces.table import FaceTracks
from affcurate.workspace import Workspace


def test_reads_the_stage_table_and_writes_it_back_unchanged(faces_ws: Workspace, tmp_path: Path) -> None:
    tracks = FaceTracks.read(faces_ws, "single_face")
    raw = pd.read_parquet(faces_ws.faces_path("single_face"))
    assert len(tracks) == len(raw) > 0
    assert tracks.landmarks.shape == (len(raw), 5, 2)
    np.testing.assert_allclose(tracks.boxes[:, 0], raw["x1"].to_numpy())
    np.testing.assert_allclose(tracks.landmarks[3], np.asarray(raw["landmarks"].iloc[3].tolist()), atol=1e-4)
    assert tracks.n_frames == 72 and tracks.target_track == 0
    other = Workspace.init(tmp_path / "ws")
    tracks.write(other)
    pd.testing.assert_frame_equal(pd.read_parquet(other.faces_path("single_face")), raw, check_dtype=False)
    assert FaceTracks.read(other, "single_face").meta == tracks.meta


def test_the_subject_is_one_row_per_frame_with_its_box_and_mask(faces_ws: Workspace) -> None:
    tracks = FaceTracks.read(faces_ws, "face_noface")
    raw = pd.read_parquet(faces_ws.faces_path("face_noface"))
    expected = raw[raw["is_target"]].drop_duplicates("frame").sort_values("frame")
    target = tracks.target()
    assert target.frame.tolist() == expected["frame"].tolist()
    f = int(expected["frame"].iloc[5])
    np.testing.assert_allclose(tracks.box_at(f), expected.iloc[5][["x1", "y1", "x2", "y2"]].to_numpy(float))
    n = tracks.n_frames
    mask = tracks.mask(n)
    assert mask.sum() == len(expected) and not mask[n - 1]  # the video ends on sky
    assert tracks.box_at(n - 1) is None


def test_a_video_without_faces_and_a_missing_table(faces_ws: Workspace) -> None:
    none = FaceTracks.read(faces_ws, "no_face")
    assert len(none) == 0 and len(none.target()) == 0 and not none.mask(10).any()
    with pytest.raises(AffcurateError, match="faces of nowhere are missing: run `affcurate faces"):
        FaceTracks.read(faces_ws, "nowhere")
    assert len(FaceTracks.read_or_empty(faces_ws, "nowhere")) == 0


def test_arrays_are_validated_once() -> None:
    with pytest.raises(ValueError, match=r"FaceTracks.boxes: expected an array of shape \(2, 4\)"):
        FaceTracks("v", np.arange(2), np.zeros(2, np.int64), np.zeros((2, 3)), np.zeros(2), np.zeros((2, 5, 2)),
                   np.zeros(2, bool), np.ones(2, bool))


def test_a_table_without_its_columns_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"frame": [0]}).to_parquet(path)
    with pytest.raises(InputError, match="bad.parquet: faces table without column"):
        FaceTracks.read_path(path)
