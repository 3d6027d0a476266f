"""ELAN .eaf files: one made as ELAN makes them (pympi-ling) imported through the CLI, exported and imported back,
and broken files refused on one line with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_code import exit_code
from pympi.Elan import Eaf

from affcurate.labels.model import list_annotations, read_annotation
from affcurate.labels.resample import grid_context, to_grid
from affcurate.labels.table import LabelTable

AUS = ["AU6", "AU12"]
VIDEOS = {"clip_b": {"n_src": 48, "src_fps": 24.0, "subject": "s2"}}  # 2 s at 24 fps: 60 frames of the grid


def _cli(capsys, *args: object) -> tuple[int, str]:  # noqa: ANN001
    capsys.readouterr()
    code = exit_code([str(a) for a in args])
    return code, capsys.readouterr().err


def _as_elan_saves_it(path: Path, origin: int | None = None) -> Path:
    """A file as ELAN 6 writes one: the media linked by URL and relative URL, an URN, the default tier and a
    transcription tier beside the coding, a linguistic type with a controlled vocabulary for the expressions."""
    eaf = Eaf(author="coder")
    eaf.header.update({"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    eaf.add_linked_file("file:///home/coder/videos/clip_b.mp4", relpath="../videos/clip_b.mp4",
                        mimetype="video/mp4", time_origin=origin)
    eaf.add_property("URN", "urn:nl-mpi-tools-elan-eaf:0c2f4d1e-5b8a-4c43-9d0e-3f1a2b3c4d5e")
    eaf.add_language("und", "http://cdb.iso.org/lg/CDB-00130975-001", "undetermined (und)")
    eaf.add_controlled_vocabulary("Emotions")
    for k, name in enumerate(["Neutral", "Happiness", "Surprise"]):
        eaf.add_cv_entry("Emotions", f"cveid_{k}", [(name, "und", None)])
    eaf.add_linguistic_type("emotion", param_dict={"LINGUISTIC_TYPE_ID": "emotion", "TIME_ALIGNABLE": "true",
                                                   "GRAPHIC_REFERENCES": "false", "CONTROLLED_VOCABULARY_REF": "Emotions"})
    for tier, ling in (("AU6", "default-lt"), ("AU12", "default-lt"), ("Expression", "emotion"),
                       ("Transcription", "default-lt")):
        eaf.add_tier(tier, ling=ling, part="s2", ann="coder")
    eaf.add_annotation("AU12", 500, 1500, "C")   # FACS intensity C = 3
    eaf.add_annotation("AU6", 700, 1200, "")     # present, no intensity
    eaf.add_annotation("Expression", 400, 1600, "Happiness")
    eaf.add_annotation("Expression", 1600, 2000, "neutral")
    eaf.add_annotation("Transcription", 0, 900, "she laughs")
    eaf.to_file(str(path))
    return path


def _grid(ws, vid: str, column: str) -> np.ndarray:  # noqa: ANN001
    """The merged labels of one column on every grid frame (NaN where not labelled)."""
    t = LabelTable.read(ws).for_video(vid)
    out = np.full(len(ws.frame_map(vid)), np.nan)
    out[t.frame["frame"].to_numpy()] = t.frame[column].to_numpy(np.float64, na_value=np.nan)
    return out


def _inside(ws, vid: str, start_ms: float, end_ms: float) -> np.ndarray:  # noqa: ANN001
    """Grid frames whose source instant lies in [start, end) ms: what the coder saw inside the annotation."""
    t = ws.frame_map(vid)["src_time"].to_numpy() * 1000
    return (t >= start_ms) & (t < end_ms)


def test_a_file_made_in_elan_is_imported_on_the_source_clock(tmp_path: Path, make_ws, capsys) -> None:
    ws = make_ws(tmp_path / "ws", VIDEOS, {"labels": {"aus": AUS}})
    (tmp_path / "coding").mkdir()
    f = _as_elan_saves_it(tmp_path / "coding" / "session 3.eaf")
    code, err = _cli(capsys, "import", ws.root, f, "--format", "elan")
    assert code == 0, err
    stored = {r.task: read_annotation(r.path) for r in list_annotations(ws).itertuples()}
    assert set(stored) == {"au", "expr"} and {a.annotator for a in stored.values()} == {"elan"}
    assert stored["au"].clock == "source" and stored["au"].video_id == "clip_b"  # the linked video names it

    assert _cli(capsys, "merge", ws.root, "--keep-no-face")[0] == 0
    au12, au6 = _inside(ws, "clip_b", 500, 1500), _inside(ws, "clip_b", 700, 1200)
    assert au12.sum() == 30 and au6.sum() == 15
    np.testing.assert_array_equal(_grid(ws, "clip_b", "AU12"), au12.astype(float))  # absent outside the annotation
    np.testing.assert_array_equal(_grid(ws, "clip_b", "AU12_intensity"), np.where(au12, 3.0, 0.0))
    np.testing.assert_array_equal(_grid(ws, "clip_b", "AU6"), au6.astype(float))
    assert np.isnan(_grid(ws, "clip_b", "AU6_intensity")).all()  # the coder gave no intensity of AU6
    happy, neutral = _inside(ws, "clip_b", 400, 1600), _inside(ws, "clip_b", 1600, 2000)
    want = np.where(happy, 4.0, np.where(neutral, 0.0, np.nan))  # Happiness is class 4, Neutral 0
    np.testing.assert_array_equal(_grid(ws, "clip_b", "expr"), want)


def test_the_media_offset_is_added(tmp_path: Path, make_ws) -> None:
    from affcurate.labels.formats import ImportContext, get_format

    ws = make_ws(tmp_path / "ws", VIDEOS, {"labels": {"aus": AUS}})
    f = _as_elan_saves_it(tmp_path / "clip.eaf", origin=400)  # ELAN's time 0 shows the video's 400 ms
    au = next(a for a in get_format("elan").read(f, ImportContext(ws)) if a.task == "au")
    got = to_grid(au, grid_context(ws, "clip_b"), ["AU12"], 2).values["AU12"]
    np.testing.assert_array_equal(got, _inside(ws, "clip_b", 900, 1900).astype(float))


def test_export_then_import_through_the_cli_gives_the_labels_back(tmp_path: Path, make_ws, capsys) -> None:
    ws = make_ws(tmp_path / "ws", VIDEOS, {"labels": {"aus": AUS}})
    (tmp_path / "in").mkdir()
    assert _cli(capsys, "import", ws.root, _as_elan_saves_it(tmp_path / "in" / "c.eaf"), "-f", "elan")[0] == 0
    assert _cli(capsys, "merge", ws.root, "--keep-no-face")[0] == 0
    code, err = _cli(capsys, "export", ws.root, tmp_path / "out", "--format", "elan")
    assert code == 0, err
    written = tmp_path / "out" / "clip_b.eaf"
    eaf = Eaf(str(written))  # ELAN's own reader sees the tiers a coder works with
    assert {"AU6", "AU12", "AU12_intensity", "expression"} <= set(eaf.get_tier_names())
    assert eaf.get_annotation_data_for_tier("AU12")[0][:2] == (500, 1500)  # 15 grid frames from frame 15
    assert dict(eaf.properties)["affcurate.clock"] == "grid"
    assert eaf.media_descriptors[0]["RELATIVE_MEDIA_URL"] == "./clip_b.mp4"

    before = {c: _grid(ws, "clip_b", c) for c in ("AU6", "AU12", "AU12_intensity", "expr")}
    code, err = _cli(capsys, "import", ws.root, written, "-f", "elan", "--annotator", "back")
    assert code == 0, err
    back = next(read_annotation(r.path) for r in list_annotations(ws).itertuples()
                if r.annotator == "back" and r.task == "au")
    assert back.clock == "grid"
    expr = next(read_annotation(r.path) for r in list_annotations(ws).itertuples()
                if r.annotator == "back" and r.task == "expr")
    g = grid_context(ws, "clip_b")
    values = {**to_grid(back, g, list(before), 2).values, **to_grid(expr, g, ["expr"], 2).values}
    for c, want in before.items():
        np.testing.assert_array_equal(values[c], want, err_msg=c)


def _eaf(path: Path, tiers: dict[str, list[tuple[int, int, str]]], unaligned: bool = False) -> Path:
    eaf = Eaf()
    eaf.add_linked_file("file:///v/clip_a.mp4", mimetype="video/mp4")
    for tier, spans in tiers.items():
        eaf.add_tier(tier)
        for s, e, v in spans:
            eaf.add_annotation(tier, s, e, v)
    if unaligned:
        eaf.timeslots[sorted(eaf.timeslots)[-1]] = None
    eaf.to_file(str(path))
    return path


BROKEN = [
    ("truncated XML", lambda p: p.write_bytes(b'<?xml version="1.0"?>\n<ANNOTATION_DOCUMENT>\n<TIER TIER_ID="AU12"\n'),
     "not valid XML", 3),
    ("another XML", lambda p: p.write_bytes(b"<annotations>\n<track label='AU12'/>\n</annotations>\n"),
     "root element <annotations>, expected <ANNOTATION_DOCUMENT>", None),
    ("valence text", lambda p: _eaf(p, {"valence": [(0, 500, "high")]}),
     "tier 'valence': annotation at 0.000 s has value 'high', expected a number in [-1, 1]", None),
    ("valence range", lambda p: _eaf(p, {"valence": [(100, 500, "1.5")]}), "value '1.5', expected a number", None),
    ("expression", lambda p: _eaf(p, {"expression": [(0, 500, "Joy")]}),
     "tier 'expression': 'Joy' at 0.000 s is not an expression class, expected one of Neutral", None),
    ("intensity", lambda p: _eaf(p, {"AU12": [(0, 500, "F")]}), "expected empty, an intensity 0-5 or a FACS", None),
    ("unknown AU", lambda p: _eaf(p, {"AU99": [(0, 500, "")]}), "tier 'AU99': AU99 is not in the workspace", None),
    ("intensity alone", lambda p: _eaf(p, {"AU12_intensity": [(0, 500, "2")]}),
     "tier 'AU12_intensity' has no tier AU12 beside it", None),
    ("intensity twice", lambda p: _eaf(p, {"AU12": [(0, 500, "2")], "AU12_intensity": [(0, 500, "2")]}),
     "is also given by tier AU12_intensity", None),
    ("unaligned", lambda p: _eaf(p, {"AU12": [(0, 500, "")]}, unaligned=True), "has an unaligned time", None),
    ("nothing", lambda p: _eaf(p, {"Transcription": [(0, 500, "hello")]}), "nothing to import", None),
]


@pytest.mark.parametrize("make,message,line", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_one_line_and_nothing_is_written(make, message: str, line: int | None,  # noqa: ANN001
                                                          tmp_path: Path, small_ws, capsys, digest) -> None:
    f = tmp_path / "clip_a.eaf"
    make(f)
    before = digest(small_ws.root)
    code, err = _cli(capsys, "import", small_ws.root, f, "--format", "elan")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert message in err, err
    assert f"{f}:{line}: " in err if line is not None else f"{f}: " in err
    assert digest(small_ws.root) == before
