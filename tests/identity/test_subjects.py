"""`affcurate subjects` on real faces: clips of two people (brightness, scale, mirror changed) under other names
and subject ids, one clip without a face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from affcurate.cli import main
from affcurate.faces.table import FaceTracks
from affcurate.identity import (
    describe,
    describe_faces,
    face_distance,
    face_pairs,
    joined_subjects,
    pair_sheet,
    read_descriptors,
    read_findings,
    read_identities,
    subjects,
)
from affcurate.identity.frames import read_frames
from affcurate.identity.reconcile import SEVERAL_PEOPLE, SEVERAL_SUBJECTS
from affcurate.workspace import Workspace

MEN = ["man_a", "man_b", "man_c"]
WOMEN = ["woman_a", "woman_b"]


def cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def identity_of(ws: Workspace) -> dict[str, object]:
    t = read_identities(ws)
    return dict(zip(t["video_id"], t["identity"].astype(object).where(t["identity"].notna(), None), strict=True))


def test_videos_are_grouped_by_person_and_no_two_people_merge(copy_ws, people_ws: Workspace, capsys) -> None:
    ws = copy_ws(people_ws)
    assert cli(["subjects", str(ws.root), "--jobs", "2"]) == 0  # descriptors in worker processes
    out = capsys.readouterr().out
    assert "descriptors: 6 videos computed, 0 done before, 1 without a face, 0 failed" in out
    ident = identity_of(ws)
    assert len({ident[v] for v in MEN}) == 1, ident
    assert len({ident[v] for v in WOMEN}) == 1, ident
    assert ident["man_a"] != ident["woman_a"]
    assert ident["sky"] is None  # no face: no identity
    t = read_identities(ws).set_index("video_id")
    assert (t.loc[MEN + WOMEN, "confidence"] > 0).all() and (t.loc[MEN + WOMEN, "confidence"] <= 1).all()
    assert (t.loc[MEN, "nearest_identity"] == ident["woman_a"]).all()
    assert (t.loc[MEN + WOMEN, "nearest_distance"] > ws.settings.subjects.threshold).all()
    # identities are named by their first video id on a first run
    assert ident["man_a"] == "id0001" and ident["woman_a"] == "id0002"
    assert "2 identities among 5 videos with a face" in out
    # the reading side for the split: faces join what subject ids keep apart, and the reverse
    pairs = face_pairs(ws)
    assert {(a, b) for a, b in zip(pairs["video_a"], pairs["video_b"], strict=True)} == {
        ("man_a", "man_b"), ("man_a", "man_c"), ("man_b", "man_c"), ("woman_a", "woman_b")}
    assert face_distance(ws, "man_a", "man_b") < 0.5 < face_distance(ws, "man_a", "woman_a")
    assert np.isnan(face_distance(ws, "man_a", "sky"))
    faces = joined_subjects(ws, "faces")
    assert faces["man_a"] == faces["man_c"] != faces["woman_a"] and faces["sky"] == "video:sky"
    both = joined_subjects(ws, "both")
    assert len(set(both[MEN + WOMEN])) == 1  # p3 holds a man and a woman: one group for a leak-free split
    assert both["sky"] == "p4"


def test_both_kinds_of_finding_are_listed(described_ws: Workspace, copy_ws, capsys) -> None:
    ws = copy_ws(described_ws)
    assert cli(["subjects", str(ws.root)]) == 0
    out = capsys.readouterr().out
    f = read_findings(ws)
    ident = identity_of(ws)
    several = f[f["kind"] == SEVERAL_SUBJECTS].set_index("identity")
    assert sorted(several.index) == sorted({ident["man_a"], ident["woman_a"]})
    assert list(several.loc[ident["man_a"], "subjects"]) == ["p1", "p2", "p3"]
    assert list(several.loc[ident["woman_a"], "subjects"]) == ["p3", "w1"]
    people = f[f["kind"] == SEVERAL_PEOPLE]
    assert people["subject"].tolist() == ["p3"]
    assert sorted(people.iloc[0]["identities"]) == sorted([ident["man_c"], ident["woman_a"]])
    assert people.iloc[0]["distance"] > 0.6  # a man and a woman
    assert not f["reviewed"].any()
    assert SEVERAL_SUBJECTS in " ".join(out.split()) and SEVERAL_PEOPLE in " ".join(out.split())


def test_descriptors_come_from_chosen_frames_of_the_subject(described_ws: Workspace) -> None:
    d = read_descriptors(described_ws)
    # one frame per started 10 seconds of presence: one for these one-second clips
    assert d.groupby("video_id").size().to_dict() == {v: 1 for v in MEN + WOMEN}
    for vid, rows in d.groupby("video_id"):
        target = FaceTracks.read(described_ws, vid).target()
        detected = set(target.frame[target.detected].tolist())
        assert set(rows["frame"]) <= detected  # frames where the detector saw the subject
        assert rows["frame"].is_unique
    x = np.stack(d["descriptor"])
    assert x.shape[1] == 128 and np.isfinite(x).all()
    assert (described_ws.root / "identity" / "descriptors" / "man_a.parquet").exists()
    assert (described_ws.root / "identity" / "descriptors" / "sky.parquet").exists()  # done, with no rows


def _mtimes(ws: Workspace) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (ws.root / "identity").rglob("*.parquet")
            if p.parent.name == "descriptors" or p.name == "descriptors.parquet"}


def test_a_second_run_computes_nothing_and_a_changed_faces_table_recomputes_its_video(
        described_ws: Workspace, copy_ws) -> None:
    ws = copy_ws(described_ws)
    before = _mtimes(ws)
    again = subjects(ws)
    assert again.summary["skipped"].all() and again.n_computed == 0
    assert _mtimes(ws) == before
    # another subject track, other frames: the faces table changes, and only that video is described again
    tracks = FaceTracks.read(ws, "woman_a")
    tracks.select(tracks.frame >= 12).write(ws)
    third = subjects(ws).summary.set_index("video_id")
    assert not third.loc["woman_a", "skipped"] and third.drop(index="woman_a")["skipped"].all()
    assert read_descriptors(ws).query("video_id == 'woman_a'")["frame"].min() >= 12
    after = _mtimes(ws)
    assert {k for k in after if after[k] != before[k]} == {"woman_a.parquet", "descriptors.parquet"}


def test_describing_some_videos_keeps_the_others(described_ws: Workspace, copy_ws) -> None:
    ws = copy_ws(described_ws)
    before = read_descriptors(ws)
    summary = describe(ws, ["man_a"])
    assert summary["video_id"].tolist() == ["man_a"] and summary["skipped"].all()
    after = read_descriptors(ws)
    assert after["video_id"].tolist() == before["video_id"].tolist()


def test_a_bad_corrections_file_on_a_fresh_workspace_stops_before_any_descriptor(people_ws: Workspace,
                                                                                 copy_ws) -> None:
    ws = copy_ws(people_ws)
    (ws.root / "identity").mkdir()
    (ws.root / "identity" / "corrections.toml").write_text('different = [["man_a", "man_a"]]\n')
    assert cli(["subjects", str(ws.root)]) == 2
    assert [p.name for p in (ws.root / "identity").iterdir()] == ["corrections.toml"]
    assert not (ws.state_dir / "done" / "descriptors").exists()


def test_corrections_merge_split_and_confirm_and_later_runs_keep_them(described_ws: Workspace, copy_ws,
                                                                       capsys) -> None:
    ws = copy_ws(described_ws)
    first = identity_of(ws)
    woman = first["woman_a"]
    corrections = ws.root / "identity" / "corrections.toml"
    corrections.write_text('# reviewed on the contact sheet\n'
                           'different = [["man_a", "man_b"]]\n'
                           'same = [["sky", "woman_b"]]\n'
                           f'confirm = ["{woman}"]\n')
    for _ in range(2):  # and a later run keeps them
        assert cli(["subjects", str(ws.root)]) == 0
        ident = identity_of(ws)
        assert ident["man_a"] != ident["man_b"]  # split
        assert ident["sky"] == ident["woman_b"] == ident["woman_a"] == woman  # merged, the name kept
        men = [ident[v] for v in MEN]
        assert max(set(men), key=men.count) == first["man_a"]  # the part that keeps most videos keeps the name
        f = read_findings(ws)
        assert f.loc[f["identity"] == woman, "reviewed"].all()
        assert not f.loc[f["identity"] != woman, "reviewed"].any()
    out = capsys.readouterr().out
    assert "corrections kept from" in " ".join(out.split())
    t = read_identities(ws).set_index("video_id")
    assert t.loc[["woman_a", "woman_b", "sky"], "confirmed"].all() and not t.loc[MEN, "confirmed"].any()


@pytest.mark.parametrize(("text", "message", "line"), [
    ('same = [["man_a", "nosuch"]]\n', "'nosuch' is not a video of this workspace", 1),
    ('# merge\nsame = [["man_a", "woman_a"]]\ndifferent = [\n  ["woman_a", "man_a"],\n]\n',
     "are also one person", 4),
    ('confirm = ["id0099"]\n', "no identity 'id0099'", 1),
    ('merge = [["man_a", "woman_a"]]\n', "unknown key 'merge'", 1),
    ('same = "man_a"\n', "same must be a list", 1),
    ('same = [["man_a"]]\n', "at least 2 video ids", 1),
])
def test_a_bad_corrections_file_is_one_line_and_nothing_is_written(described_ws: Workspace, copy_ws, capsys,
                                                                     text: str, message: str, line: int) -> None:
    ws = copy_ws(described_ws)
    path = ws.root / "identity" / "corrections.toml"
    path.write_text(text)
    before = {p: p.stat().st_mtime_ns for p in (ws.root / "identity").rglob("*") if p.is_file()}
    assert cli(["subjects", str(ws.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"corrections.toml:{line}:" in err and message in err, err
    assert {p: p.stat().st_mtime_ns for p in (ws.root / "identity").rglob("*") if p.is_file()} == before


def test_contact_sheet_has_a_row_per_identity_findings_first(described_ws: Workspace, copy_ws) -> None:
    ws = copy_ws(described_ws)
    (ws.root / "identity" / "corrections.toml").write_text('different = [["man_a", "man_b"], ["man_a", "man_c"]]\n')
    result = subjects(ws)
    img = cv2.imread(str(result.sheet))
    assert img is not None and result.sheet == ws.root / "identity" / "contact_sheet.png"
    ident = identity_of(ws)
    # man_a alone: an identity without a finding, drawn after the two with findings
    assert len({ident[v] for v in MEN + WOMEN}) == 3
    from affcurate.identity.sheet import PAD, THUMB, _order

    order, notes = _order(read_identities(ws), read_findings(ws))
    assert order[-1] == ident["man_a"] and set(notes) == {ident["man_b"], ident["woman_a"]}
    row_h = THUMB + 2 * PAD + 30
    assert img.shape[0] >= 40 + 3 * row_h
    red = (img[:, :5, 2] > 150) & (img[:, :5, 0] < 100)  # the red bar beside a row with an open finding
    rows_marked = {int((y - 40) // row_h) for y in np.flatnonzero(red.any(1))}
    assert rows_marked == {0, 1}
    # every thumbnail is a face crop, not the grey square of a missing one
    tile = img[40 + PAD:40 + PAD + THUMB, 300:300 + THUMB]
    assert tile.std() > 20


def test_pairs_of_matching_faces_are_drawn_side_by_side(described_ws: Workspace, tmp_path) -> None:
    pairs = face_pairs(described_ws).assign(split_a="train", split_b="test")
    path = pair_sheet(described_ws, pairs, tmp_path / "leaks.png")
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] >= 4 * 96  # the four pairs of one person's videos


def test_a_face_in_a_frame_is_described_like_the_stage_does(described_ws: Workspace) -> None:
    d = read_descriptors(described_ws).query("video_id == 'man_a'").iloc[0]
    target = FaceTracks.read(described_ws, "man_a").target()
    row = int(np.flatnonzero(target.frame == d["frame"])[0])
    rgb = dict(read_frames(described_ws.video_path("man_a"), [int(d["frame"])], 30.0))[int(d["frame"])]
    x = describe_faces(rgb, target.boxes[row:row + 1], target.landmarks[row:row + 1])
    np.testing.assert_allclose(x[0], d["descriptor"], atol=1e-5)


def test_a_second_writer_is_refused(described_ws: Workspace, hold_lock, capsys) -> None:
    with hold_lock(described_ws.root, "affcurate merge"):
        assert cli(["subjects", str(described_ws.root)]) == 2
    err = capsys.readouterr().err
    assert "affcurate merge" in err and len(err.strip().splitlines()) == 1
