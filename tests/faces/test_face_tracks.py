"""FaceTracks: the faces table read back exactly, the subject's rows, box and mask, and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from affcurate.errors import AffcurateError, InputError
from affcurate.faces.table import FaceTracks
from affcurate.faces.types import Detections
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


def test_the_stage_table_keeps_its_columns_and_types(faces_ws: Workspace) -> None:
    """What every reader of faces/<id>.parquet relies on, including a video without faces (null landmarks)."""
    expected = {"frame": "int64", "track_id": "int64", "x1": "float", "y1": "float", "x2": "float", "y2": "float",
                "score": "float", "landmarks": "list<element: list<element: double>>", "is_target": "bool",
                "detected": "bool"}
    schema = pq.read_schema(faces_ws.faces_path("single_face"))
    assert {f.name: str(f.type) for f in schema} == expected
    empty = pq.read_schema(faces_ws.faces_path("no_face"))
    assert {f.name: str(f.type) for f in empty} == {**expected, "landmarks": "null"}
    assert list(empty.names) == list(expected)


def test_from_detections_keeps_rows_in_order_with_their_tracks() -> None:
    a = Detections(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), np.array([0.9, 0.8], np.float32),
                   np.zeros((2, 5, 2), np.float32)).with_tracks([4, 7])
    b = Detections(np.array([[1, 1, 11, 11]], np.float32), np.array([0.7], np.float32),
                   np.zeros((1, 5, 2), np.float32)).with_tracks([4])
    tracks = FaceTracks.from_detections("v", [(3, a, np.array([True, False])), (5, Detections.empty(), np.zeros(0)),
                                              (4, b, np.array([True]))])
    assert tracks.frame.tolist() == [3, 3, 4] and tracks.track_id.tolist() == [4, 7, 4]
    assert tracks.detected.tolist() == [True, False, True] and not tracks.is_target.any()
    np.testing.assert_array_equal(tracks.boxes[2], [1, 1, 11, 11])
    with pytest.raises(ValueError, match="need their track ids"):
        FaceTracks.from_detections("v", [(0, Detections(b.boxes, b.scores, b.landmarks), np.ones(1, bool))])
    assert len(FaceTracks.from_detections("v", [])) == 0


@pytest.mark.parametrize(("arrays", "message"), [
    ({"boxes": np.zeros((2, 3), np.float32)}, r"Detections.boxes: expected an array of shape \(2, 4\), got \(2, 3\)"),
    ({"scores": np.zeros(3, np.float32)}, r"Detections.scores: expected an array of shape \(2,\), got \(3,\)"),
    ({"landmarks": np.zeros((2, 5), np.float32)}, r"Detections.landmarks: expected an array of shape \(2, K, 2\)"),
    ({"scores": np.zeros(2, np.int64)}, r"Detections.scores: expected dtype kind 'f', got int64"),
    ({"track_ids": np.zeros(2, np.float32)}, r"Detections.track_ids: expected dtype kind 'iu', got float32"),
    ({"boxes": [[0, 0, 1, 1]] * 2}, r"Detections.boxes: expected an array of shape \(0, 4\), got list"),
])
def test_detections_are_validated_once(arrays: dict, message: str) -> None:
    base = {"boxes": np.zeros((2, 4), np.float32), "scores": np.zeros(2, np.float32),
            "landmarks": np.zeros((2, 5, 2), np.float32)}
    with pytest.raises(ValueError, match=message):
        Detections(**{**base, **arrays})
    ok = Detections(**base).with_tracks([3, 5])
    assert ok.select(np.array([1])).track_ids.tolist() == [5]
