"""Every format with a writer is a pair: reading what ``write(table, out, ctx)`` wrote gives the table back, for
what the format can carry, without import or merge in between."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.faces.table import FaceTracks
from affcurate.labels.formats import ExportContext, ImportContext, formats, get_format
from affcurate.labels.resample import GridContext, grid_context, to_grid
from affcurate.labels.table import LabelTable

AUS = ["AU1", "AU6", "AU12"]
PRESENCE = AUS
INTENSITY = [f"{a}_intensity" for a in AUS]
VA = ["valence", "arousal"]
EVERY = PRESENCE + INTENSITY + ["expr"] + VA
VIDEOS = {"clip_a": {"n_src": 60, "src_fps": 30.0, "subject": "s1"},  # 60 frames of the 30 fps video
          "clip_b": {"n_src": 50, "src_fps": 25.0, "subject": "s2"},  # 2 s at 25 fps: also 60 frames
          "img_1": {"n_src": 1, "src_fps": 30.0}}                      # one frame
# files that index frames of the exported 30 fps video, read by readers whose default is the source's clock
ON_THE_GRID = {"clock": "grid", "fps": 30.0}

# What each writable format carries and how it comes back:
#   columns     the grid columns it writes and reads (no other column comes back)
#   au_unmarked "unlabelled": a frame without an AU label comes back unlabelled; "absent": interval formats mark
#               where an AU is present, every other frame comes back absent, and an AU never present in a video
#               comes back unlabelled for that video
#   va          "each": valence and arousal are labelled on their own; "both": a frame holds both or is left out
#   frames      "all": every frame; "first labelled": one row per video (its first frame with an expression or
#               valence-arousal), read back as a one-frame video
#   atol        how close valence, arousal and intensities come back (the files round them)
#   options     what the import needs besides the annotator
CARRIES: dict[str, dict] = {
    "affcurate": dict(columns=EVERY, au_unmarked="unlabelled", va="each", frames="all", atol=1e-6, options={}),
    "abaw": dict(columns=PRESENCE + ["expr"] + VA, au_unmarked="unlabelled", va="each", frames="all",
                 atol=5e-4, options=ON_THE_GRID),
    "afew-va": dict(columns=VA, au_unmarked=None, va="both", frames="all", atol=5e-5, options=ON_THE_GRID),
    "cvat": dict(columns=PRESENCE + ["expr"], au_unmarked="absent", va=None, frames="all", atol=0, options={}),
    "labelstudio": dict(columns=PRESENCE + ["expr"], au_unmarked="absent", va=None, frames="all", atol=0,
                        options={}),
    "affectnet": dict(columns=["expr"] + VA, au_unmarked=None, va="each", frames="first labelled", atol=5e-5,
                      options={}),
    # the file says its clock (grid) itself; intensities and VA are tiers of runs of one value
    "elan": dict(columns=EVERY, au_unmarked="absent", va="each", frames="all", atol=1e-6, options={}),
}
WRITABLE = [f.name for f in formats() if f.write]


def _table(ws) -> LabelTable:  # noqa: ANN001
    """Labels of every kind on the grid of each video, with unlabelled runs, lone unlabelled values and (in
    clip_a) rows left out as merge leaves out frames without the subject's face."""
    rng = np.random.default_rng(7)
    rows = []
    for vid in VIDEOS:
        n = len(ws.frame_map(vid))
        f = np.arange(n)
        df = pd.DataFrame({"video_id": vid, "frame": f})
        for j, a in enumerate(AUS):
            present = ((f + 7 * j) // 6) % 3 == 0
            if vid == "clip_b" and a == "AU6":
                present[:] = False  # an AU never present in a video
            p = present.astype(float)
            p[(f >= 20 + j) & (f < 27 + j)] = np.nan
            df[a] = p
            df[f"{a}_intensity"] = np.where(present, rng.uniform(1, 5, n).round(2), 0.0)
            df.loc[np.isnan(p), f"{a}_intensity"] = np.nan
            df.loc[f == 33, f"{a}_intensity"] = np.nan  # intensity not given where presence is
        expr = ((f // 8) % 8).astype(float)
        expr[(f >= 10) & (f < 14)] = np.nan
        df["expr"] = expr
        df["valence"] = np.sin(f / 9.0) * 0.9
        df["arousal"] = np.cos(f / 7.0) * 0.8
        df.loc[(f >= 30) & (f < 36), VA] = np.nan
        df.loc[f == 50, "arousal"] = np.nan  # valence without arousal, and arousal without valence
        df.loc[f == 52, "valence"] = np.nan
        if vid == "img_1":
            df.loc[:, ["expr", *VA]] = [[7, 0.25, -0.5]]  # Other (AffectNet's Contempt)
        if vid == "clip_a":
            df = df[(f < 40) | (f >= 45)]
        rows.append(df)
    return LabelTable.from_frame(pd.concat(rows, ignore_index=True), AUS, 8)


def _expected(table: LabelTable, vid: str, n: int, carries: dict) -> dict[str, np.ndarray]:
    """The table's values of ``vid`` as the format gives them back, on the video's grid."""
    rows = table.for_video(vid)
    frames = rows.frame["frame"].to_numpy()
    values = np.column_stack([rows.au_presence(), rows.au_intensity(), rows.expr(), rows.va()])
    grid = np.full((n, len(EVERY)), np.nan)
    grid[frames] = values  # frames without a row are unlabelled
    out = dict(zip(EVERY, grid.T, strict=True))
    if carries["au_unmarked"] == "absent":
        for a in PRESENCE:
            out[a] = np.where(out[a] == 1, 1.0, 0.0) if (out[a] == 1).any() else np.full(n, np.nan)
    if carries["va"] == "both":
        both = ~np.isnan(out["valence"]) & ~np.isnan(out["arousal"])
        out["valence"], out["arousal"] = np.where(both, out["valence"], np.nan), np.where(both, out["arousal"], np.nan)
    if carries["frames"] == "first labelled":
        labelled = ~np.isnan(out["expr"]) | ~np.isnan(out["valence"]) | ~np.isnan(out["arousal"])
        i = int(np.argmax(labelled))
        out = {c: v[i: i + 1] for c, v in out.items()}
    return {c: v for c, v in out.items() if c in carries["columns"]}


def _grid(ws, vid: str, carries: dict) -> GridContext:  # noqa: ANN001
    g = grid_context(ws, vid)
    if carries["frames"] == "first labelled":  # each image is a one-frame video
        return GridContext(g.frame_map.iloc[:1], g.fps, g.src_fps, 1, 1 / g.fps)
    return g


def test_every_writer_says_what_it_carries() -> None:
    assert sorted(CARRIES) == sorted(WRITABLE), "a format with a writer needs its entry in CARRIES"
    assert "affectnet" in WRITABLE


@pytest.mark.parametrize("name", WRITABLE)
def test_read_of_write_is_the_table(name: str, tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", VIDEOS, {"labels": {"aus": AUS}})
    assert not ws.labels_path.exists()
    fmt, carries = get_format(name), CARRIES[name]
    table = _table(ws)
    paths = fmt.write(table, tmp_path / "out", ExportContext.of(ws))
    assert paths and all(p.is_file() and p.is_relative_to(tmp_path / "out") for p in paths)

    ictx = ImportContext(ws, annotator="back", **carries["options"])
    got: dict[str, dict[str, np.ndarray]] = {}
    for p in paths:
        assert p.suffix in fmt.suffixes, f"{p} is not a file its reader takes"
        for a in fmt.read(p, ictx):
            assert a.annotator == "back"
            values = to_grid(a, _grid(ws, a.video_id, carries), EVERY, ws.settings.labels.length_tolerance).values
            mine = got.setdefault(a.video_id, {})
            assert not set(mine) & set(values), f"{a.video_id}: a column comes back twice"
            mine.update(values)

    assert set(got) == set(VIDEOS)
    back = {c for v in got.values() for c in v}
    assert back == set(carries["columns"]), f"{name} should carry exactly {carries['columns']}"
    for vid in VIDEOS:
        for c, want in _expected(table, vid, len(ws.frame_map(vid)), carries).items():
            have = got[vid].get(c, np.full(len(want), np.nan))
            where = f"{name} {vid} {c}"
            np.testing.assert_array_equal(np.isnan(have), np.isnan(want), err_msg=f"{where}: labelled frames")
            if c in INTENSITY + VA:
                np.testing.assert_allclose(have, want, atol=carries["atol"], rtol=0, err_msg=where)
            else:
                np.testing.assert_array_equal(have, want, err_msg=where)


def test_subject_boxes_come_from_the_faces_table(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"clip_a": VIDEOS["clip_a"]}, {"labels": {"aus": AUS}})
    frames = np.repeat(np.arange(60), 2)
    track = np.tile([0, 1], 60)
    boxes = np.stack([10 + frames, 20 + 0 * frames, 110 + frames, 140 + 0 * frames], 1).astype(np.float32)
    boxes[track == 1] += 300  # someone else
    FaceTracks("clip_a", frames, track, boxes, np.ones(120, np.float32), np.zeros((120, 5, 2), np.float32),
               (track == 0) & (frames != 3), np.ones(120, bool)).write(ws)
    table = LabelTable.from_frame(pd.DataFrame({"video_id": "clip_a", "frame": np.arange(60),
                                                "AU1": (np.arange(60) < 5).astype(float), "AU6": 0.0, "AU12": 0.0,
                                                "expr": np.where(np.arange(60) == 2, np.nan, 4.0)}), AUS, 8)
    ctx = ExportContext.of(ws)
    xml = get_format("cvat").write(table, tmp_path / "cvat", ctx)[0].read_text()
    assert '<box frame="0" xtl="10.00" ytl="20.00" xbr="110.00" ybr="140.00" outside="0"' in xml
    assert '<box frame="3" xtl="0.00" ytl="0.00" xbr="1.00" ybr="1.00"' in xml  # the subject is not there
    csv = pd.read_csv(get_format("affectnet").write(table, tmp_path / "affectnet", ctx)[0])
    assert csv.iloc[0][["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height"]].tolist() == [
        "clip_a.mp4", 10, 20, 100, 120]


def test_export_before_merge_is_one_line(tmp_path: Path, make_ws, capsys) -> None:
    ws = make_ws(tmp_path / "ws", {"clip_a": VIDEOS["clip_a"]})
    with pytest.raises(SystemExit) as exc:
        main(["export", str(ws.root), str(tmp_path / "out"), "-f", "cvat"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    assert f"{ws.labels_path} is missing: run `affcurate merge {ws.root}` first" in err
    assert not (tmp_path / "out").exists()
