"""CVAT for video 1.1 XML: ``<track label=…>`` of ``<box frame … outside keyframe>`` shapes and ``<tag>``s.
A track's label names an AU (``AU12``) or an expression (``Happiness``); the frames where its box is inside
become an interval of that label. Frames are 0-based frames of the annotated (30 fps) video."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

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
    register,
    segments,
    shown,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.workspace import safe_video_id


def _parse(path: Path) -> tuple[ET.Element, dict[ET.Element, int]]:
    """The XML tree and the line of each element (ElementTree keeps no lines; messages need them)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    builder, line_of = ET.TreeBuilder(), {}
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        line_of[builder.start(tag, attrs)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
        root = builder.close()
    except expat.ExpatError as exc:
        raise InputError(path, f"not valid XML ({expat.ErrorString(exc.code)})", exc.lineno) from None
    except (LookupError, ValueError) as exc:  # the declared encoding is unknown or not one expat can read
        raise InputError(path, f"not valid XML ({shown(str(exc)[:80])}), expected UTF-8", parser.CurrentLineNumber) from None
    except (AssertionError, RecursionError):  # ElementTree's builder: no or unbalanced elements
        raise InputError(path, "not valid XML (no root element)", 1) from None
    return root, line_of


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    root, line_of = _parse(path)
    if root.tag != "annotations":
        raise InputError(path, f"root element <{root.tag}>, expected <annotations> (CVAT for video 1.1)", 1)
    name = root.findtext("meta/task/name") or root.findtext("meta/job/name") or path.stem
    vid = safe_video_id(Path(name.strip()).stem)
    aus, classes = set(ctx.settings.aus), {c.lower(): i for i, c in enumerate(ctx.settings.expressions)}
    au_rows, expr_rows = [], []
    for item in list(root.iter("track")) + list(root.iter("tag")):
        label = item.get("label", "")
        for b in item:
            if b.get("outside", "0") not in ("0", "1"):
                raise InputError(path, f"outside={shown(b.get('outside'))}, expected 0 or 1", line_of.get(b))
        shapes = [b for b in item if b.get("outside", "0") == "0" and b.get("frame") is not None] \
            if item.tag == "track" else [item]
        frames = np.array([parse_int(b.get("frame"), "frame", path, line_of.get(b)) for b in shapes], np.int64)
        for s, e in segments(frames):
            if label in aus:
                au_rows.append({"start": s, "end": e, label: 1})
            elif label.lower() in classes:
                expr_rows.append({"start": s, "end": e, "expr": classes[label.lower()]})
            elif label.lower() not in ("face", "person"):
                raise InputError(path, f"label {shown(label)} is neither an AU of labels.aus nor an expression class",
                                 line_of.get(item))
    out = []
    common = dict(source="cvat", clock=ctx.clock or "grid", time_base="frame", fps=ctx.fps, shape="intervals",
                  complete=True, origin=str(path))
    name_ = ctx.annotator or "cvat"
    if au_rows:
        out.append(Annotation(vid, "au", name_, pd.DataFrame(au_rows), **common))
    if expr_rows:
        out.append(Annotation(vid, "expr", name_, pd.DataFrame(expr_rows), **common))
    return [validated(a, ctx, np.ones(len(a.data), np.int64)) for a in out]


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """One XML per video: a track per AU and per expression, boxed on the subject's face (0 0 1 1 where it is
    not there), ``outside`` after each segment."""
    paths = []
    for vid, rows in by_video(table):
        root = ET.Element("annotations")
        ET.SubElement(root, "version").text = "1.1"
        meta = ET.SubElement(ET.SubElement(root, "meta"), "task")
        ET.SubElement(meta, "name").text = vid
        ET.SubElement(meta, "mode").text = "interpolation"
        track_id = 0
        last = int(rows.frame["frame"].to_numpy().max(initial=-1))
        boxes = ctx.boxes(vid, np.arange(max(ctx.n_frames(vid, rows), last + 1)))
        for label, frames in label_frames(rows, ctx.labels.expressions):
            for a_, b_ in segments(frames):
                t = ET.SubElement(root, "track", id=str(track_id), label=label, source="manual")
                track_id += 1
                for fr in range(a_, b_ + 2):
                    box = boxes[min(fr, b_)]  # the closing box (outside) repeats the segment's last box
                    x1, y1, x2, y2 = box.tolist() if not np.isnan(box).any() else [0, 0, 1, 1]
                    ET.SubElement(t, "box", frame=str(fr), xtl=f"{x1:.2f}", ytl=f"{y1:.2f}", xbr=f"{x2:.2f}",
                                  ybr=f"{y2:.2f}", outside="1" if fr == b_ + 1 else "0", occluded="0",
                                  keyframe="1" if fr in (a_, b_ + 1) else "0")
        ET.indent(root)
        p = out / f"{vid}.xml"
        io.write_text(p, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
        paths.append(p)
    return paths


register(Format("cvat", "CVAT for video 1.1 XML: AU and expression tracks and tags as intervals", read, write,
                (".xml",)))
