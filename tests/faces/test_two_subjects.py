"""Two annotated people in one video (Aff-Wild2's ``NAME_left``/``NAME_right``): the video is listed once per
subject with its side; each gets its own face track, crops and labels, and the ABAW files round-trip."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.faces.table import FaceTracks
from affcurate.flow import ingest
from affcurate.labels.formats import export, import_files
from affcurate.labels.merge import merge
from affcurate.workspace import Workspace

N = 45  # frames of the shared `duo` video (tests/conftest.py)
HALF = (320, 360)


def _abaw_va(folder: Path, vid: str, v: float) -> Path:
    p = folder / f"{vid}.txt"
    p.write_text("valence,arousal\n" + "".join(f"{v:.2f},{-v:.2f}\n" for _ in range(N)))
    return p


def test_each_subject_of_one_video_has_its_own_track_crops_labels_and_files(duo: Path, tmp_path: Path) -> None:
    listing = tmp_path / "videos.csv"
    listing.write_text(f"path,video_id,subject,target\n{duo},duo_left,anna,left\n{duo},duo_right,ben,Right\n")
    ws = Workspace.init(tmp_path / "ws")
    result = ingest(ws, list_csv=listing)
    assert result.n_failed == 0
    m = ws.manifest().set_index("video_id")
    assert list(m["status"]) == ["ok", "ok"]  # the same file twice, but not a duplicate: two subjects
    assert list(m["target_side"]) == ["left", "right"]
    for vid, on_left in (("duo_left", True), ("duo_right", False)):
        t = FaceTracks.read(ws, vid)
        sub = t.target()
        assert len(sub) >= N - 3 and t.meta["target_method"] == f"side:{'left' if on_left else 'right'}"
        cx = (sub.boxes[:, 0] + sub.boxes[:, 2]) / 2
        assert ((cx < HALF[0]) if on_left else (cx > HALF[0])).all()
        with h5py.File(ws.crops_path(vid)) as h5:
            assert np.array_equal(h5["frames"][:], sub.frame)
    # a crop of each is its own person: the two subjects' crops differ
    with h5py.File(ws.crops_path("duo_left")) as a, h5py.File(ws.crops_path("duo_right")) as b:
        assert np.abs(a["crops"][0].astype(int) - b["crops"][0].astype(int)).mean() > 20

    labels = tmp_path / "VA_Estimation_Challenge" / "Train_Set"
    labels.mkdir(parents=True)
    import_files(ws, "abaw", [_abaw_va(labels, "duo_left", 0.5), _abaw_va(labels, "duo_right", -0.25)])
    merge(ws)
    lab = io.read_parquet(ws.labels_path)
    by = lab.groupby("video_id")["valence"].mean()
    assert by["duo_left"] == pytest.approx(0.5) and by["duo_right"] == pytest.approx(-0.25)

    main(["split", str(ws.root), "--train", "0.5", "--test", "0.5", "--val", "0"])
    sp = io.read_parquet(ws.splits_path).set_index("video_id")
    assert sp.loc["duo_left", "split"] != sp.loc["duo_right", "split"]  # two people: a split by subject

    out = export(ws, "abaw", tmp_path / "out")
    names = {p.name for p in out if p.suffix == ".txt"}
    assert names == {"duo_left.txt", "duo_right.txt"}
    back = [p for p in out if p.name == "duo_right.txt"][0].read_text().splitlines()
    assert back[0] == "valence,arousal" and back[1].startswith("-0.250")


def test_a_list_naming_a_subject_twice_or_a_bad_side_is_one_line(tmp_path: Path, samples: Path, capsys) -> None:
    ws = tmp_path / "ws"
    main(["init", str(ws)])
    listing = tmp_path / "videos.csv"
    listing.write_text(f"path,target,target_track\n{samples / 'single_face.mp4'},left,2\n")
    with pytest.raises(SystemExit) as exc:
        main(["ingest", str(ws), "--list", str(listing)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"{listing}:2:" in err and "both name the subject" in err
    listing.write_text(f"path,target\n{samples / 'single_face.mp4'},middle\n")
    with pytest.raises(SystemExit):
        main(["ingest", str(ws), "--list", str(listing)])
    err = capsys.readouterr().err
    assert "target 'middle' is neither a side nor a track id, expected left, right or a whole number" in err
    assert len(err.strip().splitlines()) == 1
