"""Label Studio video export (JSON): ``TimelineLabels`` results with ``value.ranges`` (1-based frames) and
``value.timelinelabels``; a label names an AU or an expression class."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import (
    ExportContext,
    Format,
    ImportContext,
    by_video,
    label_frames,
    parse_int,
    read_json,
    register,
    segments,
    shown,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.names import check_name
from affcurate.workspace import safe_video_id


def _list(value: object, path: Path, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(path, f"{where} is {type(value).__name__}, expected a list (Label Studio export)")
    return value


def _dict(value: object, path: Path, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(path, f"{where} is {type(value).__name__}, expected an object (Label Studio export)")
    return value


def _video_id(data: dict, path: Path, where: str) -> str:
    given = data.get("video_id")
    if given not in (None, ""):
        if not isinstance(given, (str, int)) or isinstance(given, bool):
            raise InputError(path, f"{where}.data.video_id {shown(given)} is not a name, expected the video's id")
        return check_name(str(given), "video id", f"{path}: {where}.data.video_id")
    video = data.get("video", path.stem)
    if not isinstance(video, str):
        raise InputError(path, f"{where}.data.video {shown(video)} is not a path or URL, expected the video's file")
    return safe_video_id(Path(video).stem)


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    doc = read_json(path)
    tasks = doc if isinstance(doc, list) else [doc]
    if isinstance(doc, dict) and not {"data", "annotations"} & set(doc):
        raise InputError(path, "an object without 'data' or 'annotations', expected a Label Studio task or a list "
                               "of tasks")
    aus, classes = set(ctx.settings.aus), {c.lower(): i for i, c in enumerate(ctx.settings.expressions)}
    out = []
    for ti, t in enumerate(tasks):
        where = f"tasks[{ti}]"
        t = _dict(t, path, where)
        vid = _video_id(_dict(t.get("data", {}), path, f"{where}.data"), path, where)
        au_rows, expr_rows = [], []
        for ai, ann in enumerate(_list(t.get("annotations"), path, f"{where}.annotations")):
            at = f"{where}.annotations[{ai}]"
            for ri, r in enumerate(_list(_dict(ann, path, at).get("result"), path, f"{at}.result")):
                rt = f"{at}.result[{ri}]"
                if _dict(r, path, rt).get("type") != "timelinelabels":
                    continue
                if "value" not in r:
                    raise InputError(path, f"{rt} has no 'value', expected ranges and timelinelabels")
                value = _dict(r["value"], path, f"{rt}.value")
                for key in ("ranges", "timelinelabels"):
                    if key not in value:
                        raise InputError(path, f"{rt}.value has no {shown(key)}, expected ranges and timelinelabels")
                for label in _list(value.get("timelinelabels"), path, f"{rt}.value.timelinelabels"):
                    if not isinstance(label, str):
                        raise InputError(path, f"{rt}.value.timelinelabels: label {shown(label)} is not a name")
                    for ni, rng in enumerate(_list(value.get("ranges"), path, f"{rt}.value.ranges")):
                        rw = f"{rt}.value.ranges[{ni}]"
                        rng = _dict(rng, path, rw)
                        s, e = (parse_int(rng.get(k), f"{rw}.{k}", path, None, first=1) - 1 for k in ("start", "end"))
                        if label in aus:
                            au_rows.append({"start": s, "end": e, label: 1})
                        elif label.lower() in classes:
                            expr_rows.append({"start": s, "end": e, "expr": classes[label.lower()]})
                        else:
                            raise InputError(path, f"{rt}: label {shown(label)} is neither an AU nor an expression class")
        common = dict(source="labelstudio", clock=ctx.clock or "grid", time_base="frame", fps=ctx.fps,
                      shape="intervals", complete=True, origin=str(path))
        name = ctx.annotator or "labelstudio"
        if au_rows:
            out.append(Annotation(vid, "au", name, pd.DataFrame(au_rows), **common))
        if expr_rows:
            out.append(Annotation(vid, "expr", name, pd.DataFrame(expr_rows), **common))
    return [validated(a, ctx, np.ones(len(a.data), np.int64)) for a in out]


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """One JSON list of tasks (a task per video) with TimelineLabels for AUs and expressions."""
    tasks = []
    for i, (vid, rows) in enumerate(by_video(table)):
        results = []
        for label, frames in label_frames(rows, ctx.labels.expressions):
            ranges = [{"start": a + 1, "end": b + 1} for a, b in segments(frames)]
            if ranges:
                results.append({"type": "timelinelabels", "from_name": "affect", "to_name": "video",
                                "value": {"ranges": ranges, "timelinelabels": [label]}})
        video = ctx.video(vid).source or f"{vid}.mp4"
        tasks.append({"id": i + 1, "data": {"video": f"videos/{video}", "video_id": vid},
                      "annotations": [{"result": results}]})
    p = out / "labelstudio.json"
    io.write_text(p, json.dumps(tasks, indent=1))
    return [p]


register(Format("labelstudio", "Label Studio video JSON: TimelineLabels ranges of AUs and expressions", read, write,
                (".json",)))
