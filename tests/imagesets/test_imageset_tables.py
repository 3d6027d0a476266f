"""The image sets' tables read as a user reads them: counts for `status`, names found, parts of frames."""

from __future__ import annotations

import pandas as pd
from cli_code import exit_code
from still_images import truncate

from affcurate.imagesets.lookup import ImageNames
from affcurate.imagesets.samples import part_of
from affcurate.imagesets.table import image_counts, read_images
from affcurate.workspace import Workspace


def test_counts_for_status_name_every_failed_image(stills, tmp_path):
    folder = stills("imgs", flips=0)
    truncate(folder / "multi_face.jpg", folder / "cut.jpg", keep=0.5)
    (folder / "empty.jpg").write_bytes(b"")
    assert exit_code(["ingest", str(tmp_path / "ws"), "--images", str(folder), "--shard-size", "3"]) == 1
    ws = Workspace.open(tmp_path / "ws")
    counts = image_counts(ws)
    assert (counts["images"], counts["ok"], counts["error"], counts["pending"]) == (8, 6, 2, 0)
    assert (counts["shards"], counts["shards_done"]) == (3, 3)
    failed = {f["id"]: f["error"] for f in counts["failed"]}
    assert set(failed) == {"cut", "empty"}
    assert "empty file" in failed["empty"] and "empty.jpg" in failed["empty"]
    # the names a dataset gives its images find them: folder/name, name, stem
    names = ImageNames(read_images(ws))
    assert names.find("imgs/single_face.jpg") == names.find("single_face.jpg") == "single_face"
    assert names.find("elsewhere/unknown.jpg") is None


def test_part_of_reads_a_part_per_frame_for_images_and_per_video_for_videos():
    splits = pd.DataFrame({"video_id": ["clip", "s-00000", "s-00000", "s-00001"],
                           "frame": pd.array([None, 0, 1, 0], dtype="Int64"),
                           "split": ["train", "test", "train", "val"]})
    keys = pd.DataFrame({"video_id": ["clip", "clip", "s-00000", "s-00000", "s-00000", "s-00001", "other"],
                         "frame": [0, 7, 0, 1, 2, 0, 0]})
    got = part_of(splits, keys, "split").tolist()
    assert got[:4] == ["train", "train", "test", "train"]
    assert pd.isna(got[4]) and got[5] == "val" and pd.isna(got[6])
