"""Label Studio video export (JSON): ``TimelineLabels`` results with ``value.ranges`` (1-based frames) and
``value.timelinelabels``; a label names an AU or an expression class."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import Format, ImportContext, labels_table, register, validated
from affcurate.labels.formats.cvat import _segments
from affcurate.labels.model import Annotation
from affcurate.workspace import Workspace, safe_video_id


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    tasks = doc if isinstance(doc, list) else [doc]
    aus, classes = set(ctx.settings.aus), {c.lower(): i for i, c in enumerate(ctx.settings.expressions)}
    out = []
    for t in tasks:
        data = t.get("data", {})
        vid = data.get("video_id") or safe_video_id(Path(str(data.get("video", path.stem))).stem)
        au_rows, expr_rows = [], []
        for ann in t.get("annotations", []):
            for r in ann.get("result", []):
                if r.get("type") != "timelinelabels":
                    continue
                for label in r["value"].get("timelinelabels", []):
                    for rng in r["value"].get("ranges", []):
                        s, e = int(rng["start"]) - 1, int(rng["end"]) - 1
                        if label in aus:
                            au_rows.append({"start": s, "end": e, label: 1})
                        elif label.lower() in classes:
                            expr_rows.append({"start": s, "end": e, "expr": classes[label.lower()]})
                        else:
                            raise InputError(path, f"label {label!r} is neither an AU nor an expression class")
        common = dict(source="labelstudio", clock=ctx.clock or "grid", time_base="frame", fps=ctx.fps,
                      shape="intervals", complete=True, origin=str(path))
        name = ctx.annotator or "labelstudio"
        if au_rows:
            out.append(Annotation(str(vid), "au", name, pd.DataFrame(au_rows), **common))
        if expr_rows:
            out.append(Annotation(str(vid), "expr", name, pd.DataFrame(expr_rows), **common))
    return [validated(a, ctx, np.ones(len(a.data), np.int64)) for a in out]


def write(ws: Workspace, out: Path) -> list[Path]:
    """One JSON list of tasks (a task per video) with TimelineLabels for AUs and expressions."""
    labels = labels_table(ws)
    s = ws.settings.labels
    tasks = []
    for i, (vid, part) in enumerate(labels.groupby("video_id", sort=False)):
        results = []
        series = [(a, part.loc[part[a].fillna(0).astype(int) == 1, "frame"].to_numpy()) for a in s.aus
                  if a in part.columns]
        if "expr" in part.columns:
            series += [(c, part.loc[part["expr"].astype("Float64") == k, "frame"].to_numpy())
                       for k, c in enumerate(s.expressions)]
        for label, frames in series:
            ranges = [{"start": a + 1, "end": b + 1} for a, b in _segments(frames)]
            if ranges:
                results.append({"type": "timelinelabels", "from_name": "affect", "to_name": "video",
                                "value": {"ranges": ranges, "timelinelabels": [label]}})
        tasks.append({"id": i + 1, "data": {"video": f"videos/{vid}.mp4", "video_id": vid},
                      "annotations": [{"result": results}]})
    p = out / "labelstudio.json"
    io.write_text(p, json.dumps(tasks, indent=1))
    return [p]


register(Format("labelstudio", "Label Studio video JSON: TimelineLabels ranges of AUs and expressions", read, write,
                (".json",)))
