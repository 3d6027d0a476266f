"""A fuzzed corpus for the ten importers: valid files of each format, mutated the ways real files go wrong
(wrong encodings, wrong types and shapes, NaN/inf, truncation, huge values, empty and header-only files), each
run through ``affcurate import`` as a user would.

Every input must end in exit 2 with one line on stderr that names the file and an unchanged workspace (the
digest of every file), or in exit 0 with tables that validate. The generator is seeded: a failure names its
case, which ``AFFCURATE_FUZZ_SEED`` / ``AFFCURATE_FUZZ_CASES`` reproduce or widen. Inputs per run: ``CASES``
mutated files per format and the valid seeds themselves, 10 × 60 + 16 = 616 with the defaults.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from affcurate.labels.model import list_annotations, read_annotation, validate

SEED = int(os.environ.get("AFFCURATE_FUZZ_SEED", "2026"))
CASES = int(os.environ.get("AFFCURATE_FUZZ_CASES", "60"))

EXPR = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
OPENFACE = "frame, face_id, timestamp, confidence, success, AU01_r, AU12_r, AU01_c, AU12_c"
PYFEAT = ("FaceRectX,FaceRectY,FaceRectWidth,FaceRectHeight,FaceScore,AU01,AU12,anger,disgust,fear,happiness,"
          "sadness,surprise,neutral,valence,arousal,input,frame")
AFFECTNET = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
             "arousal")
ARFF = ("@relation GOLDSTANDARD\n@attribute Instance_name string\n@attribute frameTime numeric\n"
        "@attribute GoldStandard numeric\n@data\n")


def _rows(n: int, row: Callable[[int], str]) -> str:
    return "".join(row(i) + "\n" for i in range(n))


def _cvat() -> str:
    boxes = "".join(f'   <box frame="{f}" xtl="1.5" ytl="2" xbr="30" ybr="40" outside="{int(f == 9)}" occluded="0" '
                    f'keyframe="1"/>\n' for f in range(4, 10))
    return ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n <version>1.1</version>\n <meta>\n  <task>\n'
            '   <name>clip_a.mp4</name>\n   <mode>interpolation</mode>\n  </task>\n </meta>\n'
            f' <track id="0" label="AU12" source="manual">\n{boxes} </track>\n'
            ' <track id="1" label="Happiness" source="manual">\n'
            '   <box frame="20" xtl="0" ytl="0" xbr="1" ybr="1" outside="0" occluded="0" keyframe="1"/>\n'
            '   <box frame="25" xtl="0" ytl="0" xbr="1" ybr="1" outside="1" occluded="0" keyframe="1"/>\n'
            ' </track>\n <tag label="Neutral" frame="40" source="manual"/>\n</annotations>\n')


def _labelstudio() -> str:
    results = [{"type": "timelinelabels", "from_name": "affect", "to_name": "video",
                "value": {"ranges": [{"start": 3, "end": 9}, {"start": 20, "end": 22}], "timelinelabels": ["AU12"]}},
               {"type": "timelinelabels", "value": {"ranges": [{"start": 30, "end": 40}],
                                                    "timelinelabels": ["Happiness"]}},
               {"type": "videorectangle", "value": {"sequence": [{"frame": 1, "x": 1, "y": 2}]}}]
    return json.dumps([{"id": 1, "data": {"video": "/data/upload/clip_a.mp4", "video_id": "clip_a"},
                        "annotations": [{"result": results}]}], indent=1)


def _afewva() -> str:
    frames = {f"{i:05d}": {"valence": i - 5, "arousal": 5 - i, "landmarks": [[1.0, 2.0]] * 3} for i in range(10)}
    return json.dumps({"video_id": "001", "actor": "A", "emotion": "Happy", "frames": frames}, indent=1)


# format -> valid files: (relative path, text, extra options)
SEEDS: dict[str, list[tuple[str, str, list[str]]]] = {
    "affcurate": [
        ("clip_a.csv", "frame,AU12,AU12_intensity,expr,valence,arousal\n" + _rows(
            12, lambda i: f"{i},{i % 2},{2 * (i % 2) or ''},{i % 8},{i / 20:.3f},{-i / 20:.3f}"), []),
        ("x.csv", "video_id,time,AU1,AU1_intensity,expr\n" + _rows(
            8, lambda i: f"clip_a,{i * 0.1:.1f},{i % 2},{'3' if i % 2 else ''},{['Neutral', 'Fear'][i % 2]}"), [])],
    "abaw": [
        ("clip_a.txt", "valence,arousal\n" + _rows(20, lambda i: "-5,-5" if i == 3 else f"{i / 25:.3f},-0.1"), []),
        ("clip_a.txt", EXPR + "\n" + _rows(20, lambda i: str(i % 9 - 1)), []),
        ("clip_a.txt", "AU1,AU2,AU4,AU6,AU12\n" + _rows(20, lambda i: f"{i % 2},0,1,-1,{int(i > 10)}"), []),
        ("multi.csv", "image,valence,arousal,expression,AU1,AU12\n" + _rows(
            10, lambda i: f"clip_a/{i + 1:05d}.jpg,0.{i},-0.{i},{i % 8},{i % 2},-1"), [])],
    "afew-va": [("001/001.json", _afewva(), [])],
    "disfa": [("SN001/SN001_au12.txt", _rows(40, lambda i: f"{i + 1},{i % 6}"), [])],
    "openface": [
        ("clip_a.csv", OPENFACE + "\n" + _rows(
            20, lambda i: f"{i + 1}, 0, {i / 30:.3f}, 0.98, {int(i != 5)}, {i % 5}.2, 1.5, {i % 2}, 1"), []),
        ("clip_a.csv", OPENFACE + "\n" + _rows(
            20, lambda i: f"{i + 1}, 0, {i / 30:.3f}, 0.98, 1, 0.5, 4.9, 0, {i % 2}"), ["--fps", "30"])],
    "pyfeat": [("clip_a.csv", PYFEAT + "\n" + _rows(
        15, lambda i: f"10,20,100,120,0.99,0.{i % 10},0.{9 - i % 10},0.1,0.0,0.0,0.{i % 10},0.1,0.0,0.2,"
                      f"0.{i % 10},-0.{i % 10},clip_a.mp4,{i}"), [])],
    "cvat": [("clip_a.xml", _cvat(), [])],
    "labelstudio": [("tasks.json", _labelstudio(), [])],
    "affectnet": [("training.csv", AFFECTNET + "\n689/img1.jpg,10,10,100,100,1.0;2.0;3.0,1,0.8,0.3\n"
                   "689/img2.png,10,10,100,100,1;2,10,-2,-2\n", [])],
    "avec": [
        ("valence/dev_1.csv", "time;FM1;FM2;FF1\n" + _rows(25, lambda i: f"{i * 0.04:.2f};0.1;-0.{i % 10};0.3"), []),
        ("arousal/dev_1.arff", ARFF + _rows(25, lambda i: f"'dev_1',{i * 0.04:.2f},{0.01 * i:.3f}"), [])],
}
FORMATS = sorted(SEEDS)

# values a field ends up holding when files go wrong
NASTY = ["nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e309", "-1e309", "9" * 40, "-0", "1.5", "-1", "-5",
         "2147483648", "abc", "", " ", "0x10", "1_000", "١", "²", "None", "null", "true", "[]", "{}", '"', "'",
         "\x00", "\n", "\r", ";", ",", "é", "\u2028", "AU99", "../x", "a b", "[bold]", "[/]"]
TOKEN = re.compile(r"[^\s,;:\"'<>=/{}\[\]]+")


# ---- mutations: text -> text ---------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return text.split("\n")


def token(rng: random.Random, text: str) -> str:
    spans = [m.span() for m in TOKEN.finditer(text)]
    if not spans:
        return text + rng.choice(NASTY)
    a, b = rng.choice(spans)
    return text[:a] + rng.choice(NASTY) + text[b:]


def delete_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def duplicate_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])


def swap_lines(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def shuffle_lines(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    rng.shuffle(lines)
    return "\n".join(lines)


def add_field(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines[i] += rng.choice([",", ";"]) + rng.choice(NASTY)
    return "\n".join(lines)


def drop_field(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines[i] = re.sub(r"[,;][^,;]*$", "", lines[i])
    return "\n".join(lines)


def header_only(rng: random.Random, text: str) -> str:
    return _lines(text)[0] + rng.choice(["", "\n", "\n\n", "\r\n"])


def empty(rng: random.Random, text: str) -> str:
    return rng.choice(["", "\n", " ", "\ufeff"])


def truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def huge(rng: random.Random, text: str) -> str:
    """A line repeated thousands of times, or one absurdly long field."""
    lines = _lines(text)
    i = rng.randrange(len(lines))
    if rng.random() < 0.5:
        return "\n".join(lines[: i + 1] + [lines[i]] * rng.randrange(1000, 4000) + lines[i + 1:])
    spans = [m.span() for m in TOKEN.finditer(text)] or [(len(text), len(text))]
    a, b = rng.choice(spans)
    return text[:a] + "9" * rng.randrange(300, 200_000) + text[b:]


def insert_char(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(["\x00", "\u2028", "\x0c", "\r", "é", "\ufeff", "\ud800", '"', "\\"]) + text[i:]


# ---- mutations: structure of JSON and XML --------------------------------------------------------------------

def _json_values(rng: random.Random) -> object:
    return rng.choice([None, True, 0, -1, 1.5, 10**30, float("nan"), float("inf"), "x", "", [], [1], {},
                       {"a": 1}, "../x", [[[]]]])


def _nodes(doc: object, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _nodes(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _nodes(v, path + (i,))
    return out


def json_node(rng: random.Random, text: str) -> str:
    """Replace one node of the document (any depth) by a value of another type, or delete it."""
    doc = json.loads(text)
    path = rng.choice(_nodes(doc))
    if not path:
        return json.dumps(_json_values(rng))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = _json_values(rng)
    return json.dumps(doc)


def json_wrap(rng: random.Random, text: str) -> str:
    return rng.choice(["[" + text + "]", '{"frames": ' + text + "}", "[" * 100_000 + "]" * 100_000, "[1]"])


def xml_drop(rng: random.Random, text: str) -> str:
    elements = list(re.finditer(r"<(\w+)[^>]*/>|<(\w+)[^>]*>.*?</\2>", text, re.S))
    if not elements:
        return text
    a, b = rng.choice(elements).span()
    return text[:a] + text[b:]


def xml_attr(rng: random.Random, text: str) -> str:
    attrs = list(re.finditer(r'(\w+)="([^"]*)"', text))
    if not attrs:
        return text
    m = rng.choice(attrs)
    value = rng.choice(NASTY).replace('"', "&quot;").replace("<", "&lt;").replace("&", "&amp;")
    return text[: m.start(2)] + value + text[m.end(2):]


def xml_deep(rng: random.Random, text: str) -> str:
    n = rng.randrange(100, 50_000)
    return text.replace("<annotations>", "<annotations>" + "<a>" * n + "</a>" * n, 1)


TEXT_OPS = [token, token, token, delete_line, duplicate_line, swap_lines, shuffle_lines, add_field, drop_field,
            header_only, empty, truncate, huge, insert_char]
JSON_OPS = [json_node, json_node, json_node, json_wrap]
XML_OPS = [xml_drop, xml_attr, xml_attr, xml_deep]


# ---- mutations: text -> bytes (the encoding) ---------------------------------------------------------------

def latin1(rng: random.Random, text: str) -> bytes:
    i = rng.randrange(len(text) + 1)
    return (text[:i] + rng.choice("éüßñ°") + text[i:]).encode("latin-1", "replace")


def utf16(rng: random.Random, text: str) -> bytes:
    return text.encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be"]), "surrogatepass")


def random_bytes(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    if not data or rng.random() < 0.2:
        return rng.randbytes(rng.randrange(0, 400))
    a = rng.randrange(len(data))
    data[a: a + rng.randrange(1, 16)] = rng.randbytes(rng.randrange(1, 16))
    return bytes(data)


def cut_bytes(rng: random.Random, text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return data[: rng.randrange(len(data) + 1)]


BYTE_OPS = [latin1, utf16, random_bytes, cut_bytes]


def mutate(fmt: str, text: str, rng: random.Random) -> tuple[bytes, list[str]]:
    """One to three mutations of a valid file; the last may change its encoding."""
    ops = TEXT_OPS + (JSON_OPS * 3 if fmt in ("afew-va", "labelstudio") else []) + (XML_OPS * 3 if fmt == "cvat"
                                                                                     else [])
    done = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.choice(ops)
        try:
            text = op(rng, text)
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):  # JSON mutations of a non-JSON text
            continue
        done.append(op.__name__)
    if rng.random() < 0.25:
        op = rng.choice(BYTE_OPS)
        done.append(op.__name__)
        return op(rng, text), done
    return text.encode("utf-8", "surrogatepass"), done


# ---- the run ---------------------------------------------------------------------------------------------------

def _prepare(folder: Path, fmt: str, rel: str, content: bytes) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    f = folder / rel
    f.parent.mkdir(parents=True)
    if fmt == "afew-va":  # the clip's PNG frames sit beside its JSON
        for i in range(10):
            (f.parent / f"{i:05d}.png").write_bytes(b"")
    f.write_bytes(content)
    return f


def _check(run, ws, f: Path, baseline: dict[str, str], digest, validate_rows) -> str | None:  # noqa: ANN001
    """What is wrong with this run, or None."""
    if run.crash is not None:
        return f"traceback: {type(run.crash).__name__}: {str(run.crash)[:200]}"
    if "Traceback" in run.err or run.warnings:
        return f"traceback or warnings on stderr: {run.err[:300]!r} {run.warnings[:3]}"
    if run.code == 2:
        lines = run.err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            return f"expected one error line, got {run.err[:300]!r}"
        if str(f) not in lines[0]:
            return f"the error does not name the file: {lines[0][:300]!r}"
        if len(lines[0]) > len(str(f)) + 400:  # a value of the file quoted whole is no readable line
            return f"an error line of {len(lines[0])} characters: {lines[0][:300]!r}"
        if digest(ws.root) != baseline:
            return "refused, but the workspace changed"
        return None
    if run.code != 0:
        return f"exit {run.code}: {run.err[:300]!r}"
    for r in list_annotations(ws).itertuples():
        a = read_annotation(r.path)
        validate(a, ws.settings.labels)
        df = a.data.assign(video_id=a.video_id, annotator=a.annotator, source=a.source)
        validate_rows("annotations", df)
    shutil.rmtree(ws.annotations_dir, ignore_errors=True)
    if digest(ws.root) != baseline:
        return "accepted, and wrote outside annotations/"
    return None


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzzed_files_are_refused_in_one_line_or_imported_whole(fmt: str, fuzz_ws, tmp_path: Path, run_cli,
                                                                digest, validate_rows) -> None:
    baseline = digest(fuzz_ws.root)
    folder = tmp_path / "in"
    failures = []
    for k, (rel, text, options) in enumerate(SEEDS[fmt]):  # the valid files import as they are
        f = _prepare(folder, fmt, rel, text.encode())
        run = run_cli("import", fuzz_ws.root, f, "-f", fmt, *options)
        assert run.code == 0 and run.crash is None, f"seed {k} of {fmt} does not import: {run.err} {run.crash}"
        assert list_annotations(fuzz_ws).shape[0] > 0
        assert _check(run, fuzz_ws, f, baseline, digest, validate_rows) is None
    for case in range(CASES):
        rng = random.Random(f"{SEED}/{fmt}/{case}")
        rel, text, options = rng.choice(SEEDS[fmt])
        content, ops = mutate(fmt, text, rng)
        f = _prepare(folder, fmt, rel, content)
        problem = _check(run_cli("import", fuzz_ws.root, f, "-f", fmt, *options), fuzz_ws, f, baseline, digest,
                         validate_rows)
        if problem:
            failures.append(f"case {case} ({'+'.join(ops)}; {content[:120]!r}): {problem}")
            shutil.rmtree(fuzz_ws.annotations_dir, ignore_errors=True)
    assert not failures, f"{len(failures)} of {CASES} fuzzed {fmt} files (AFFCURATE_FUZZ_SEED={SEED}):\n" + \
        "\n".join(failures[:15])
