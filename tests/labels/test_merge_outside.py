"""Labels past the video's end: left out of labels.parquet, counted and reported in the merge's warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.io import read_parquet_with_metadata
from affcurate.labels.formats import import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation


def test_a_grid_file_running_999409_frames_past_the_end_is_reported_and_cropped(small_ws, tmp_path: Path) -> None:
    # clip_a has 60 frames (0-59); rows on 60 and 61 are within the ±2 tolerance, the rest beyond
    frames = [*range(62), *range(100, 200), 999_468]
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n" + "".join(f"{i},1\n" for i in frames))
    import_files(small_ws, "affcurate", [f], annotator="alice")
    r = merge(small_ws, drop_no_face=False)
    assert r.errors == []
    assert len(r.warnings) == 1
    w = r.warnings[0]
    assert (w["video_id"], w["task"], w["annotator"], w["outside"]) == ("clip_a", "au", "alice", 101)
    assert "999,409 frames past" in w["message"] and "clip_a" in w["message"] and "\n" not in w["message"]
    a = r.labels[r.labels["video_id"] == "clip_a"]
    assert a["frame"].tolist() == list(range(60)) and a["AU12"].eq(1).all()
    _, meta = read_parquet_with_metadata(small_ws.labels_path)
    assert meta["warnings"] == r.warnings  # kept with the table, for whoever reads it later


def test_rows_just_past_the_end_within_the_tolerance_are_no_warning(small_ws) -> None:
    write_annotation(small_ws, Annotation("clip_a", "va", "bob", pd.DataFrame(
        {"frame": np.arange(62), "valence": 0.1, "arousal": 0.1})))
    r = merge(small_ws, drop_no_face=False)
    assert r.warnings == [] and r.labels["valence"].notna().sum() == 60


def test_seconds_and_intervals_past_the_end_are_reported_too(small_ws) -> None:
    # clip_b: 48 source frames at 24 fps = 2 s; samples every 0.1 s up to 3 s, intervals on the grid past 60 frames
    times = np.round(np.arange(0, 3.0001, 0.1), 1)
    write_annotation(small_ws, Annotation("clip_b", "va", "t", pd.DataFrame(
        {"time": times, "valence": 0.0, "arousal": 0.0}), clock="source", time_base="time"))
    write_annotation(small_ws, Annotation("clip_b", "au", "c", pd.DataFrame(
        {"start": [0, 50, 70], "end": [10, 80, 90], "AU4": [1, 1, 1]}), shape="intervals", complete=True))
    r = merge(small_ws, drop_no_face=False)
    by = {w["annotator"]: w for w in r.warnings}
    assert set(by) == {"t", "c"}
    assert by["t"]["outside"] == 9  # 2.2 s … 3.0 s: the samples at 2.0 and 2.1 s are the tolerance
    assert by["c"]["outside"] == 2 and "intervals" in by["c"]["message"]
    b = r.labels[r.labels["video_id"] == "clip_b"].set_index("frame")
    assert len(b) == 60 and b.loc[50:, "AU4"].eq(1).all() and b.loc[11:49, "AU4"].eq(0).all()


def test_the_merge_command_prints_the_warning(small_ws, tmp_path: Path, capsys) -> None:
    from affcurate.cli import main

    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n" + "".join(f"{i},1\n" for i in [*range(60), 5000]))
    import_files(small_ws, "affcurate", [f], annotator="alice")
    main(["merge", str(small_ws.root), "--jobs", "1"])  # returns normally: a warning is no failure
    out = " ".join(capsys.readouterr().out.split())
    assert "warning:" in out and "clip_a" in out and "past" in out
