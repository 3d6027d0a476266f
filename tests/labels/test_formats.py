"""Every format: a fixture in its real layout is read, and the writable ones survive a round trip."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code

from affcurate.cli import main
from affcurate.labels.formats import export, formats, import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, list_annotations, read_annotation, write_annotation

WRITABLE = ["affcurate", "abaw", "afew-va", "cvat", "labelstudio"]


def _labelled(tmp_path: Path, make_workspace):  # noqa: ANN001, ANN202
    ws = make_workspace(tmp_path / "ws", {"clip_a": {"n_src": 60, "src_fps": 30.0, "subject": "s1"}})
    n = 60
    au12 = (np.arange(n) // 10) % 2
    expr = np.where(np.arange(n) < 30, 0, 4)
    val = np.linspace(-0.5, 0.5, n)
    src = tmp_path / "labels" / "clip_a.csv"
    src.parent.mkdir()
    rows = ["frame,AU12,AU12_intensity,expr,valence,arousal"] + [
        f"{i},{au12[i]},{2 * au12[i]},{expr[i]},{val[i]:.4f},{-val[i]:.4f}" for i in range(n)]
    src.write_text("\n".join(rows) + "\n")
    import_files(ws, "affcurate", [src], annotator="gold")
    merge(ws)
    return ws, au12, expr, val


def test_formats_are_listed(capsys) -> None:
    names = {f.name for f in formats()}
    assert {"abaw", "afew-va", "disfa", "openface", "pyfeat", "cvat", "labelstudio", "affectnet", "avec",
            "affcurate"} <= names
    main(["formats"])
    out = capsys.readouterr().out
    assert "openface" in out and "labelstudio" in out


@pytest.mark.parametrize("fmt", WRITABLE)
def test_round_trip(fmt: str, tmp_path: Path, make_ws) -> None:
    ws, au12, expr, val = _labelled(tmp_path, make_ws)
    paths = export(ws, fmt, tmp_path / "out")
    assert paths
    sources = [p for p in paths if p.suffix in (".csv", ".txt", ".json", ".xml")]
    import_files(ws, fmt, sources, annotator="back")
    tables = {(r.task): read_annotation(r.path) for r in list_annotations(ws).itertuples() if r.annotator == "back"}
    assert tables, "nothing came back"
    from affcurate.labels.resample import GridContext, to_grid

    g = GridContext(ws.frame_map("clip_a"), 30.0, 30.0, 60, 2.0)
    if "au" in tables:
        got = to_grid(tables["au"], g, ["AU12"], 2).values["AU12"]
        assert np.array_equal(np.nan_to_num(got, nan=-1), au12)
    if "expr" in tables:
        got = to_grid(tables["expr"], g, ["expr"], 2).values["expr"]
        assert np.array_equal(got, expr)
    if "va" in tables:
        got = to_grid(tables["va"], g, ["valence"], 2).values["valence"]
        assert np.allclose(got, val, atol=2e-3)
    if fmt == "abaw":
        assert {"VA_Estimation_Challenge", "EXPR_Recognition_Challenge", "AU_Detection_Challenge"} <= {
            p.parts[len((tmp_path / "out").parts)] for p in paths}


def test_real_openface_output(samples: Path, tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"OpenFace_Test": {"n_src": 1000, "src_fps": 30.0}},
                        {"labels": {"aus": ["AU1", "AU2", "AU4", "AU6", "AU12", "AU25", "AU45"]}})
    shutil.copy(samples / "OpenFace_Test.csv", tmp_path / "OpenFace_Test.csv")
    report = import_files(ws, "openface", [tmp_path / "OpenFace_Test.csv"])
    a = read_annotation(report.written[0])
    assert a.annotator == "openface" and a.task == "au" and a.time_base == "time"
    assert {"AU1", "AU12", "AU12_intensity"} <= set(a.data.columns)
    assert set(a.data["AU12"].dropna().unique()) <= {0, 1} and len(a.data) > 10
    assert a.data["AU12_intensity"].max() <= 5


@pytest.mark.parametrize("name", ["Feat_Test.csv", "001.csv"])
def test_real_pyfeat_output(samples: Path, tmp_path: Path, make_ws, name: str) -> None:
    vid = "single_face" if name == "Feat_Test.csv" else "001"
    ws = make_ws(tmp_path / "ws", {vid: {"n_src": 500, "src_fps": 30.0}})
    shutil.copy(samples / name, tmp_path / f"{vid}.csv")
    report = import_files(ws, "pyfeat", [tmp_path / f"{vid}.csv"])
    tasks = {read_annotation(p).task for p in report.written}
    assert {"au", "expr"} <= tasks
    expr = next(read_annotation(p) for p in report.written if read_annotation(p).task == "expr")
    if name == "Feat_Test.csv":  # py-feat says the single face is happy (0.987)
        assert expr.data["expr"].iloc[0] == ws.settings.labels.expressions.index("Happiness")


def test_disfa_one_file_per_au_becomes_one_table(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"SN001": {"n_src": 20, "src_fps": 20.0}})
    d = tmp_path / "ActionUnit_Labels" / "SN001"
    d.mkdir(parents=True)
    (d / "SN001_au12.txt").write_text("".join(f"{i + 1},{3 if 5 <= i < 10 else 0}\n" for i in range(20)))
    (d / "SN001_au1.txt").write_text("".join(f"{i + 1},{1}\n" for i in range(20)))
    (d / "SN001_au9.txt").write_text("".join(f"{i + 1},0\n" for i in range(20)))  # not a workspace AU
    report = import_files(ws, "disfa", [tmp_path / "ActionUnit_Labels"])
    assert len(report.written) == 1
    a = read_annotation(report.written[0])
    assert a.data["AU12"].tolist() == [0] * 5 + [1] * 5 + [0] * 10
    assert a.data["AU1"].sum() == 0 and a.data["AU1_intensity"].sum() == 20  # intensity 1 < 2: absent


def test_afew_va_keys_are_mapped_to_the_png_files(tmp_path: Path, make_ws) -> None:
    clip = tmp_path / "AFEW-VA" / "001"
    clip.mkdir(parents=True)
    for i in range(3, 13):  # frames numbered from 3, not 0 or 1
        (clip / f"{i:05d}.png").write_bytes(b"")
    doc = {"video_id": "001", "actor": "A. Actor", "frames": {f"{i:05d}": {"valence": i - 8, "arousal": 8 - i,
                                                                          "landmarks": []} for i in range(3, 13)}}
    (clip / "001.json").write_text(json.dumps(doc))
    ws = make_ws(tmp_path / "ws", {"001": {"n_src": 10, "src_fps": 25.0}})
    report = import_files(ws, "afew-va", [clip / "001.json"])
    a = read_annotation(report.written[0])
    assert a.data["frame"].tolist() == list(range(10)) and a.complete
    assert a.data["valence"].iloc[0] == pytest.approx(-0.5) and a.extra["actor"] == "A. Actor"


def test_affectnet_and_avec(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"img1": {"n_src": 1, "src_fps": 30.0}, "img2": {"n_src": 1, "src_fps": 30.0},
                                          "dev_1": {"n_src": 50, "src_fps": 25.0}})
    csv = tmp_path / "training.csv"
    csv.write_text("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
                   "arousal\n689/img1.jpg,10,10,100,100,1;2,1,0.8,0.3\n689/img2.png,10,10,100,100,1;2,10,-2,-2\n")
    report = import_files(ws, "affectnet", [csv])
    by = {(read_annotation(p).video_id, read_annotation(p).task): read_annotation(p) for p in report.written}
    assert by[("img1", "expr")].data["expr"].iloc[0] == ws.settings.labels.expressions.index("Happiness")
    assert pd.isna(by[("img2", "expr")].data["expr"].iloc[0]) and np.isnan(by[("img2", "va")].data["valence"].iloc[0])
    arff = tmp_path / "arousal" / "dev_1.arff"
    arff.parent.mkdir()
    arff.write_text("@relation GOLDSTANDARD\n@attribute Instance_name string\n@attribute frameTime numeric\n"
                    "@attribute GoldStandard numeric\n@data\n" +
                    "".join(f"'dev_1',{i * 0.04:.2f},{0.01 * i:.3f}\n" for i in range(50)))
    raters = tmp_path / "valence" / "dev_1.csv"
    raters.parent.mkdir()
    raters.write_text("time;FM1;FM2\n" + "".join(f"{i * 0.04:.2f};{0.1:.2f};{0.2:.2f}\n" for i in range(50)))
    r2 = import_files(ws, "avec", [arff, raters])
    names = sorted(read_annotation(p).annotator for p in r2.written)
    assert names == ["FM1", "FM2", "gold"]
    r = merge(ws, keep="labelled")
    dev = r.labels[r.labels["video_id"] == "dev_1"]
    assert len(dev) == 60 and dev["valence"].dropna().between(0.1, 0.2).all()


# ---- refused imports write nothing; bad files are one line with file:line ------------------------------------

def _cli(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = exit_code([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(capsys, ws, digest, *args: str) -> str:  # noqa: ANN001
    """Run ``affcurate import`` expecting a refusal: exit 2, one line, no traceback, nothing written."""
    before = digest(ws.root)
    code, _, err = _cli(capsys, "import", ws.root, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert digest(ws.root) == before, "a refused import changed the workspace"
    return err.strip()


def test_avec_rater_with_a_bad_name_is_refused_before_any_rater_is_written(tmp_path: Path, make_ws, capsys,
                                                                            digest) -> None:
    ws = make_ws(tmp_path / "ws", {"dev_1": {"n_src": 50, "src_fps": 25.0}})
    f = tmp_path / "valence" / "dev_1.csv"
    f.parent.mkdir()
    f.write_text("time;FM1;FM2;bad name\n" + "".join(f"{i * 0.04:.2f};0.1;0.2;0.3\n" for i in range(5)))
    err = _refused(capsys, ws, digest, f, "-f", "avec")
    assert f"{f}:1: invalid annotator name 'bad name'" in err
    assert not ws.annotations_dir.exists()


def test_a_bad_second_file_leaves_the_first_unwritten(tmp_path: Path, small_ws, capsys, digest) -> None:
    good, bad = tmp_path / "clip_a.csv", tmp_path / "clip_b.csv"
    good.write_text("frame,AU12\n0,1\n1,0\n")
    bad.write_text("frame,AU12\n0,1\n1,7\n")
    err = _refused(capsys, small_ws, digest, good, bad, "-f", "affcurate", "--annotator", "alice")
    assert f"{bad}:3: AU12 = 7 is not 0 or 1" in err
    assert not (small_ws.annotations_dir / "alice").exists()


@pytest.mark.parametrize("name", ["alice\n", "../x", "a/b", ""])
def test_annotator_option_is_checked_by_full_match(name: str, tmp_path: Path, small_ws, capsys, digest) -> None:
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n0,1\n")
    err = _refused(capsys, small_ws, digest, f, "-f", "affcurate", "--annotator", name)
    assert err.startswith("error: --annotator: invalid annotator name")
    assert not small_ws.annotations_dir.exists()


def test_import_holds_the_writer_lock(tmp_path: Path, small_ws) -> None:
    from affcurate.lock import WorkspaceBusyError

    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n0,1\n")
    holder = ("import sys\nfrom affcurate.workspace import Workspace\n"
              "with Workspace.open(sys.argv[1]).writing('affcurate merge'):\n"
              "    print('held', flush=True)\n    sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", holder, str(small_ws.root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(WorkspaceBusyError, match="affcurate merge"):
            import_files(small_ws, "affcurate", [f])
        assert not small_ws.annotations_dir.exists()
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert import_files(small_ws, "affcurate", [f]).written  # free again


LATIN1 = "é".encode("latin-1")
AU_HEADER = "AU1,AU2,AU4,AU6,AU12"
OPENFACE_HEADER = "frame, face_id, timestamp, confidence, success, AU12_r, AU12_c"
PYFEAT_HEADER = "FaceRectX,FaceRectY,FaceRectWidth,FaceRectHeight,FaceScore,AU12,happiness,neutral,input,frame"
AFFECTNET_HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,"
                    "valence,arousal")
ARFF = "@relation GOLDSTANDARD\n@attribute Instance_name string\n@attribute frameTime numeric\n" \
       "@attribute GoldStandard numeric\n@data\n"
EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"

# (format, file name, content, extra options, expected message, expected line or None)
BAD_FILES = [
    ("affcurate", "clip_a.csv", b"frame,AU12\n0,1\n1," + LATIN1 + b"\n", [], "is not UTF-8", 3),
    ("affcurate", "clip_a.csv", "frame,AU12\n0,1\n".encode("utf-16"), [], "UTF-16", 1),
    ("abaw", "clip_a.txt", b"valence,arousal\n0.1,0.2\n0.1," + LATIN1 + b"\n", [], "is not UTF-8", 3),
    ("abaw", "clip_a.txt", f"{EXPR_HEADER}\n1\n".encode() + LATIN1 + b"\n", [], "is not UTF-8", 3),
    ("disfa", "clip_a_au12.txt", b"1,0\n2," + LATIN1 + b"\n", [], "is not UTF-8", 2),
    ("openface", "clip_a.csv", f"{OPENFACE_HEADER}\n1, 0, 0.0, 0.9, 1, 1.0, 1\n".encode() + LATIN1, [],
     "is not UTF-8", 3),
    ("pyfeat", "clip_a.csv", f"{PYFEAT_HEADER}\n".encode() + LATIN1 + b",0,1,1,0.9,0.8,0.7,0.1,clip_a.mp4,0\n",
     [], "is not UTF-8", 2),
    ("affectnet", "training.csv", f"{AFFECTNET_HEADER}\n1/clip_a.jpg,0,0,1,1,,1,0.1,".encode() + LATIN1 + b"\n",
     [], "is not UTF-8", 2),
    ("avec", "valence/clip_a.csv", b"time;FM1\n0.0;0.1\n0.04;" + LATIN1 + b"\n", [], "is not UTF-8", 3),
    ("avec", "arousal/clip_a.arff", ARFF.encode() + b"'clip_a',0.00," + LATIN1 + b"\n", [], "is not UTF-8", 6),
    ("afew-va", "clip_a.json", b'{"frames": {"00000": {"valence": 1, "arousal": 2}}, "x": "' + LATIN1 + b'"}',
     [], "is not UTF-8", 1),
    ("labelstudio", "clip_a.json", b'[{"data": {"video_id": "' + LATIN1 + b'"}}]', [], "is not UTF-8", 1),
    ("cvat", "clip_a.xml", b'<?xml version="1.0"?>\n<annotations>\n<track label="' + LATIN1 + b'"/>\n'
     b"</annotations>\n", [], "not valid XML", 3),
    ("disfa", "clip_a_au12.txt", b"1,0\nnan,1\n", [], "frame 'nan' is missing", 2),
    ("openface", "clip_a.csv", f"{OPENFACE_HEADER}\n1, 0, 0.0, 0.9, 1, 1.0, 1\nnan, 0, 0.03, 0.9, 1, 1.0, 1\n"
     .encode(), ["--fps", "30"], "frame 'nan' is missing", 3),
    ("abaw", "multi.csv", b"image,valence,arousal,expression\nclip_a/00001.jpg,0.1,0.2,1\nclip_a/x.jpg,0.1,0.2,1\n",
     [], "must look like video/00001.jpg", 3),
    ("cvat", "clip_a.xml", b'<annotations>\n<track label="AU12">\n<box frame="abc" outside="0"/>\n</track>\n'
     b"</annotations>\n", [], "frame 'abc' is not a whole frame number", 3),
    ("labelstudio", "clip_a.json", b"[1]", [], "tasks[0] is int, expected an object", None),
    ("labelstudio", "clip_a.json", b'[{"data": {"video_id": "clip_a"}, "annotations": [{"result": [{"type": '
     b'"timelinelabels", "value": {"ranges": [{"start": "x", "end": 3}], "timelinelabels": ["AU12"]}}]}]}]',
     [], "start 'x' is not a whole frame number", None),
    ("labelstudio", "clip_a.json", b'[{"data": {"video_id": "clip_a"}, "annotations": [{"result": [{"type": '
     b'"timelinelabels"}]}]}]', [], "has no 'value'", None),
    # silent before: a duplicated OpenFace row shifted the reported line, fractional and NaN frames were cast
    ("openface", "clip_a.csv", f"{OPENFACE_HEADER}\n1, 0, 0.0, 0.9, 1, 1.0, 1\n1, 0, 0.0, 0.9, 1, 1.0, 1\n"
     "2, 0, 0.033, 0.9, 1, 1.0, 3\n".encode(), [], "AU12 = 3 is not 0 or 1", 4),
    ("affcurate", "clip_a.csv", b"frame,AU12\n0,1\n1.5,0\n", [], "frame 1.5 is not a whole frame number", 3),
    ("pyfeat", "clip_a.csv", f"{PYFEAT_HEADER}\n0,0,1,1,0.9,0.8,0.7,0.1,clip_a.mp4,0\n"
     "0,0,1,1,0.9,0.8,0.7,0.1,clip_a.mp4,nan\n".encode(), [], "frame 'nan' is missing", 3),
    ("affcurate", "clip_a.csv", b"frame,AU12,AU12_intensity\n", [], "no rows after the header", 2),
    ("abaw", "clip_a.txt", f"{AU_HEADER}\n".encode(), [], "no rows after the header", 2),
    ("abaw", "clip_a.txt", f"{EXPR_HEADER}\n".encode(), [], "no rows after the header", 2),
    ("openface", "clip_a.csv", f"{OPENFACE_HEADER}\n".encode(), [], "no rows after the header", 2),
    ("avec", "arousal/clip_a.arff", ARFF.encode(), [], "no rows", None),
    # found by the fuzzed corpus (tests/fuzz)
    ("affectnet", "training.csv", b"subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
     b"expression,[],arousal\n1/clip_a.jpg,0,0,1,1,,1,0.1,0.2\n", [], "name expression, valence and arousal", 1),
    ("affectnet", "training.csv", f"{AFFECTNET_HEADER}\n1/clip_a.jpg,0,0,1,1,,1,0.1,0.2\n2/clip_a.png,0,0,1,1,,1,0,0\n"
     .encode(), [], "image 'clip_a' is listed again (first at line 2)", 3),
    ("cvat", "clip_a.xml", b'<?xml version="1.0" encoding="NaN"?>\n<annotations/>\n', [], "unknown encoding", 1),
    ("cvat", "clip_a.xml", b'<annotations>\n<track label="AU12">\n<box frame="3" outside="x"/>\n</track>\n'
     b"</annotations>\n", [], "outside='x', expected 0 or 1", 3),
    ("cvat", "clip_a.xml", b'<annotations>\n<track label="face">\n<box frame="3" outside="0"/>\n</track>\n'
     b"</annotations>\n", [], "nothing to import", None),
    ("labelstudio", "clip_a.json", b'{"frames": []}', [], "expected a Label Studio task", None),
    ("labelstudio", "clip_a.json", b'[{"data": {"video_id": "clip_a"}, "annotations": [{"result": [{"type": '
     b'"timelinelabels", "value": {"timelinelabels": ["AU12"]}}]}]}]', [], "has no 'ranges'", None),
    ("affcurate", "clip_a.csv", b"\nframe,AU12\n0,1\n", [], "the first line is empty", 1),
]


@pytest.mark.parametrize("fmt,name,content,options,message,line", BAD_FILES,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_FILES)])
def test_bad_file_is_one_line_with_its_line_and_writes_nothing(fmt: str, name: str, content: bytes,
                                                               options: list[str], message: str, line: int | None,
                                                               tmp_path: Path, small_ws, capsys, digest) -> None:
    f = tmp_path / "in" / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(content)
    err = _refused(capsys, small_ws, digest, f, "-f", fmt, *options)
    assert message in err
    assert f"{f}:{line}: " in err if line is not None else f"{f}: " in err


def test_unmatched_files_with_brackets_in_their_path_are_listed_as_they_are(tmp_path: Path, small_ws, capsys,
                                                                             monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = Path("[red]")
    folder.mkdir()
    (folder / "zz.csv").write_text("frame,AU12\n0,1\n")
    (folder / "clip_a.csv").write_text("frame,AU12\n0,1\n")
    code, out, err = _cli(capsys, "import", small_ws.root, folder, "-f", "affcurate", "--skip-unmatched")
    assert code == 0, err
    assert "[red]/zz.csv" in out


def test_pyfeat_frame_without_emotion_scores_has_no_expression(tmp_path: Path, small_ws) -> None:
    f = tmp_path / "clip_a.csv"
    f.write_text(f"{PYFEAT_HEADER}\n0,0,1,1,0.9,0.8,0.7,0.1,clip_a.mp4,0\n0,0,1,1,0.9,0.8,,,clip_a.mp4,1\n")
    written = import_files(small_ws, "pyfeat", [f]).written
    expr = next(read_annotation(p) for p in written if read_annotation(p).task == "expr")
    assert expr.data["expr"].iloc[0] == small_ws.settings.labels.expressions.index("Happiness")
    assert pd.isna(expr.data["expr"].iloc[1])  # was Anger, the first class


def test_disfa_missing_intensity_is_no_presence_either(tmp_path: Path, small_ws) -> None:
    f = tmp_path / "clip_a_au12.txt"
    f.write_text("1,3\n2,\n3,0\n")
    a = read_annotation(import_files(small_ws, "disfa", [f]).written[0])
    assert a.data["AU12"].tolist()[0::2] == [1, 0] and pd.isna(a.data["AU12"].iloc[1])


def test_task_option_keeps_only_that_task_of_any_format(tmp_path: Path, small_ws, capsys, digest) -> None:
    f = tmp_path / "clip_a.txt"
    f.write_text("AU1,AU12\n" + "1,0\n" * 60)
    err = _refused(capsys, small_ws, digest, f, "-f", "abaw", "--task", "va")
    assert "no va labels found" in err
    f.write_text("valence,arousal\n" + "0.1,0.2\n" * 60)
    assert {read_annotation(p).task for p in import_files(small_ws, "abaw", [f], task="va").written} == {"va"}


def test_a_table_that_cannot_be_written_leaves_the_others_unwritten(tmp_path: Path, small_ws, capsys,
                                                                    digest) -> None:
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12,valence,arousal\n0,1,0.1,0.2\n1,0,0.1,0.2\n")
    blocker = small_ws.annotations_dir / "alice" / "va"  # a file where the va folder must go
    blocker.parent.mkdir(parents=True)
    blocker.write_text("")
    err = _refused(capsys, small_ws, digest, f, "-f", "affcurate", "--annotator", "alice")
    assert "cannot write" in err
    assert not (small_ws.annotations_dir / "alice" / "au" / "clip_a.parquet").exists()
    assert not list(small_ws.annotations_dir.rglob("*.parquet")) and not list(small_ws.annotations_dir.rglob(".*"))


@pytest.mark.parametrize("option,value,message", [("--fps", "nan", "fps nan is not a frame rate"),
                                                  ("--fps", "-30", "is not a frame rate"),
                                                  ("--task", "emotion", "task 'emotion' is unknown"),
                                                  ("--clock", "wall", "clock 'wall' is unknown")])
def test_bad_options_are_refused_before_reading(option: str, value: str, message: str, tmp_path: Path, small_ws,
                                                capsys, digest) -> None:
    f = tmp_path / "clip_a.csv"
    f.write_text("frame,AU12\n0,1\n")
    assert message in _refused(capsys, small_ws, digest, f, "-f", "affcurate", option, value)


def test_an_abaw_au_file_with_more_aus_than_the_workspace_can_keep_only_the_workspaces(
        tmp_path: Path, small_ws, capsys, digest) -> None:
    folder = tmp_path / "AU_Detection_Challenge" / "Train_Set"
    folder.mkdir(parents=True)
    f = folder / "clip_a.txt"
    f.write_text("AU1,AU12,AU43\n" + "1,0,1\n0,1,1\n" * 30)
    before = digest(small_ws.root)
    with pytest.raises(SystemExit) as exc:
        main(["import", str(small_ws.root), "--format", "abaw", str(f)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and f"{f}:1: AU 'AU43' is not in the workspace setting labels.aus" in err
    assert "--only-workspace-aus" in err and digest(small_ws.root) == before
    main(["import", str(small_ws.root), "--format", "abaw", str(f), "--only-workspace-aus"])
    (row,) = list_annotations(small_ws).itertuples()
    a = read_annotation(row.path)
    assert [c for c in a.data.columns if c.startswith("AU")] == ["AU1", "AU12"]
    assert a.data["AU12"].tolist()[:2] == [0, 1]


def test_labels_of_one_of_two_people_say_how_to_list_the_video_twice(tmp_path: Path, small_ws, capsys) -> None:
    f = tmp_path / "clip_a_left.txt"
    f.write_text("valence,arousal\n" + "0.1,0.2\n" * 60)
    with pytest.raises(SystemExit):
        main(["import", str(small_ws.root), "--format", "abaw", str(f)])
    err = capsys.readouterr().err.strip()
    assert "video 'clip_a_left' is not in the workspace" in err
    assert "clip_a is: a video with two subjects is listed once per subject, with video_id clip_a_left and " \
           "target left" in err


def test_exporting_a_format_that_carries_none_of_the_labels_says_so(tmp_path: Path, small_ws, capsys) -> None:
    write_annotation(small_ws, Annotation("clip_a", "expr", "ann", pd.DataFrame({"frame": np.arange(60),
                                                                                  "expr": np.zeros(60, int)})))
    merge(small_ws)
    main(["export", str(small_ws.root), str(tmp_path / "out"), "--format", "afew-va"])
    out = capsys.readouterr().out
    assert "0 files written" in out
    assert "nothing to write: the afew-va format carries none of the labels this workspace has (expr)" in " ".join(
        out.split())


def test_every_format_is_listed_whichever_module_was_imported_first() -> None:
    code = ("import affcurate.labels.formats.geometry; from affcurate.labels.formats import formats; "
            "print(len(formats()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == len(formats()) >= 11
