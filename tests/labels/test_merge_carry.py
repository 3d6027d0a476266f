"""Merge never carries a value onto a frame where its source gave none: the cases that once did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.labels.formats import import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation

DEMO_AU = Path(__file__).resolve().parents[2] / "pipelines" / "demo" / "labels" / "au" / "wolfgang.csv"


def _desk_au(ws, annotator: str, vid: str, n: int, au: str, marks: dict[range, float | None]) -> None:  # noqa: ANN001
    """An AU table the way the desk writes it: the AU present on the marked ranges (with the intensity, if
    any), absent on every other frame, its intensity empty wherever none was given."""
    present = np.zeros(n, np.int64)
    intensity = np.full(n, np.nan, np.float32)
    for frames, value in marks.items():
        present[frames.start:frames.stop] = 1
        if value is not None:
            intensity[frames.start:frames.stop] = value
    data = {"frame": np.arange(n), au: present}
    if not np.isnan(intensity).all():  # the desk leaves the column out when no intensity was given
        data[f"{au}_intensity"] = intensity
    write_annotation(ws, Annotation(vid, "au", annotator, pd.DataFrame(data), source="desk", complete=True))


def test_an_intensity_given_on_frames_30_to_40_stays_there(make_ws, tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 97, "src_fps": 30.0, "subject": "s1"}})
    _desk_au(ws, "alice", "clip", 97, "AU12", {range(30, 41): 5.0})
    _desk_au(ws, "bob", "clip", 97, "AU12", {})  # looked at AU12, absent everywhere
    lab = merge(ws, drop_no_face=False).labels.set_index("frame")
    unmarked = lab.index.difference(range(30, 41))
    # nobody gave an intensity on the unmarked frames but alice's "absent" (intensity 0); bob gave none at all
    assert (lab.loc[unmarked, "AU12_intensity"] == 0).all()
    assert (lab.loc[30:40, "AU12_intensity"] == 5).all()
    assert (lab.loc[unmarked, "AU12"] == 0).all() and lab.loc[30:40, "AU12"].isna().all()  # 1 against 0: a tie


def test_the_demo_au4_intensity_is_not_raised_by_an_annotator_who_marked_nothing_there(make_ws,
                                                                                      tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", {"wolfgang": {"n_src": 591, "src_fps": 30.0, "subject": "woman1"}})
    import_files(ws, "affcurate", [DEMO_AU], annotator="demo")
    demo = pd.read_csv(DEMO_AU).set_index("frame")
    f = int(demo.index[(demo["AU4"] == 1) & (demo["AU4_intensity"] == 2)][0])
    # a desk annotator marked AU4 with intensity 5 far from frame f, and nothing on f
    _desk_au(ws, "desk", "wolfgang", 591, "AU4", {range(f + 200, f + 230): 5.0})
    lab = merge(ws, drop_no_face=False).labels.set_index("frame")
    assert lab.loc[f, "AU4_intensity"] == pytest.approx(1.0)  # demo's 2 and the desk's "absent": 0
    assert lab.loc[f, "AU4_intensity"] != pytest.approx(3.5)
    # an annotator who never gave an intensity for AU4 has no say in it: demo's 2 stands
    _desk_au(ws, "desk", "wolfgang", 591, "AU4", {range(f + 200, f + 230): None})
    lab = merge(ws, drop_no_face=False).labels.set_index("frame")
    assert lab.loc[f, "AU4_intensity"] == pytest.approx(2.0)
    assert lab.loc[f + 200, "AU4_intensity"] == pytest.approx(0.0)  # demo: absent, 0; the desk: no intensity


def test_sparse_au_rows_label_only_their_frames(small_ws, tmp_path: Path) -> None:
    """affcurate CSV rows on frames 30-40 only (not complete): the other frames are not labelled."""
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12,AU12_intensity\n" + "".join(f"{i},1,5\n" for i in range(30, 41)))
    import_files(small_ws, "affcurate", [f], annotator="alice")
    a = merge(small_ws, drop_no_face=False).labels.query("video_id == 'clip_a'").set_index("frame")
    assert a.loc[30:40, "AU12_intensity"].eq(5).all() and a.loc[30:40, "AU12"].eq(1).all()
    outside = a.index.difference(range(30, 41))
    assert a.loc[outside, ["AU12", "AU12_intensity"]].isna().all().all()
    assert (a.loc[outside, "au_n"] == 0).all() and (a.loc[outside, "sources"] == "").all()


def test_va_keyframes_are_interpolated_between_them_and_never_beyond(small_ws) -> None:
    data = pd.DataFrame({"frame": [10, 20, 50], "valence": [0.0, 0.5, -0.5], "arousal": [0.1, 0.1, 0.1]})
    write_annotation(small_ws, Annotation("clip_a", "va", "k", data, shape="keyframes"))
    a = merge(small_ws, drop_no_face=False).labels.query("video_id == 'clip_a'").set_index("frame")
    assert a.loc[:9, "valence"].isna().all() and a.loc[51:, "valence"].isna().all()
    assert a.loc[15, "valence"] == pytest.approx(0.25) and a.loc[35, "valence"] == pytest.approx(0.0)
    assert a.loc[50, "valence"] == pytest.approx(-0.5)


def test_dense_va_holes_stay_holes_and_nothing_is_extrapolated(small_ws) -> None:
    frames = np.r_[5:15, 30:40]
    data = pd.DataFrame({"frame": frames, "valence": 0.3, "arousal": -0.2})
    write_annotation(small_ws, Annotation("clip_a", "va", "d", data))
    a = merge(small_ws, drop_no_face=False).labels.query("video_id == 'clip_a'").set_index("frame")
    rated = a["valence"].notna()
    assert rated[rated].index.tolist() == frames.tolist()
    assert (a.loc[frames, "va_n"] == 1).all() and (a.loc[~rated, "va_n"] == 0).all()


def test_time_based_va_of_a_part_of_the_video_stays_on_that_part(make_ws, tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", {"v": {"n_src": 100, "src_fps": 25.0}})  # 4 s
    times = np.round(np.arange(1.0, 2.0001, 0.04), 2)  # seconds 1-2 of the source, 25 Hz
    data = pd.DataFrame({"time": times, "valence": 0.5, "arousal": 0.5})
    write_annotation(ws, Annotation("v", "va", "t", data, clock="source", time_base="time"))
    a = merge(ws, drop_no_face=False).labels.set_index("frame")
    src_time = ws.frame_map("v").set_index("frame")["src_time"]
    rated = a["valence"].notna()
    assert (src_time[rated] >= 1.0 - 1e-9).all() and (src_time[rated] < 2.04 + 1e-9).all()
    assert rated[(src_time >= 1.0) & (src_time <= 2.0)].all()


def test_overlapping_intervals_of_two_aus_keep_both(small_ws, tmp_path: Path) -> None:
    """CVAT: AU1 on frames 0-50 and AU12 on 10-20; AU1 stays present on 10-50 (not cut at AU12's start)."""
    xml = ('<annotations><version>1.1</version><meta><task><name>clip_a</name></task></meta>'
           '<track id="0" label="AU1">' + "".join(f'<box frame="{i}" outside="0"/>' for i in range(51)) +
           '</track><track id="1" label="AU12">' + "".join(f'<box frame="{i}" outside="0"/>' for i in range(10, 21))
           + '</track></annotations>')
    f = tmp_path / "clip_a.xml"
    f.write_text(xml)
    import_files(small_ws, "cvat", [f])
    a = merge(small_ws, drop_no_face=False).labels.query("video_id == 'clip_a'").set_index("frame")
    assert a.loc[0:50, "AU1"].eq(1).all() and a.loc[51:, "AU1"].eq(0).all()
    assert a.loc[10:20, "AU12"].eq(1).all() and a.loc[:9, "AU12"].eq(0).all() and a.loc[21:, "AU12"].eq(0).all()


def test_rows_with_empty_values_at_the_start_and_end_stay_unlabelled(small_ws) -> None:
    """A row per frame, values only on 20-39 (OpenFace leaves failed frames empty): nothing before or after."""
    n = 60
    rated = (np.arange(n) >= 20) & (np.arange(n) < 40)
    va = pd.DataFrame({"frame": np.arange(n), "valence": np.where(rated, 0.4, np.nan),
                       "arousal": np.where(rated, -0.4, np.nan)})
    write_annotation(small_ws, Annotation("clip_a", "va", "of", va))
    au = pd.DataFrame({"frame": np.arange(n), "AU6": pd.array(np.where(rated, 1, pd.NA), dtype="Int8"),
                       "AU6_intensity": np.where(rated, 3.0, np.nan)})
    write_annotation(small_ws, Annotation("clip_a", "au", "of", au))
    a = merge(small_ws, drop_no_face=False).labels.query("video_id == 'clip_a'").set_index("frame")
    for c in ("valence", "arousal", "AU6", "AU6_intensity"):
        assert a[c].notna().to_numpy().tolist() == rated.tolist(), c
