"""AFEW-VA: one folder per clip with PNG frames and ``<clip>.json`` holding ``frames`` → {valence, arousal
(-10…10), landmarks}. Keys equal the PNG names (not assumed to start at 0 or 1): they are mapped to files. Without
PNG frames beside the JSON, keys made of digits name their frame (``00010`` is frame 10, as the export writes
them); other keys are numbered in natural order from 0."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.faces.given import GivenFaces
from affcurate.labels.formats import (
    ExportContext,
    Format,
    ImportContext,
    by_video,
    natural_order,
    numbered_images,
    parse_int,
    read_json,
    read_text,
    register,
    shown,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.names import check_name

_DIGITS = re.compile(r"[0-9]+")


def _line(text: str, key: str) -> int | None:
    at = text.find(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), dict):
        raise InputError(path, "expected an object with a 'frames' mapping (AFEW-VA clip annotation)", 1)
    given = doc.get("video_id")
    if given is not None and not isinstance(given, (str, int)):
        raise InputError(path, f"video_id {shown(given)} is not a name, expected the clip's id (e.g. \"001\")")
    vid = str(given if given not in (None, "") else path.stem)
    check_name(vid, "video id", str(path))
    keys, order, images, text = _frames(path, doc)
    rows, lines = [], []
    for k in keys:
        line = _line(text, k)
        if k not in order:
            raise InputError(path, f"frame {shown(k)} has no image of that name (.png) beside the JSON", line)
        f = doc["frames"][k]
        try:
            v, a = _scaled(f["valence"]), _scaled(f["arousal"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InputError(path, f"frame {shown(k)}: expected numeric valence and arousal", line) from None
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise InputError(path, f"frame {shown(k)}: valence/arousal outside [-10, 10]", line)
        rows.append((order[k], v, a))
        lines.append(line or 1)
    data = pd.DataFrame(rows, columns=["frame", "valence", "arousal"])
    fps = ctx.fps or ctx.source_fps(vid) or ctx.ws.settings.ingest.fps
    extra = {k: doc[k] for k in ("actor", "emotion") if k in doc}
    ann = Annotation(vid, "va", ctx.annotator or "afew-va", data, source="afew-va", clock=ctx.clock or "source",
                     time_base="frame", fps=fps, shape="dense", complete=bool(images) and len(rows) == len(images),
                     origin=str(path), extra=extra)
    return [validated(ann, ctx, np.asarray(lines, np.int64))]


def _frames(path: Path, doc: dict) -> tuple[list[str], dict[str, int], list[Path], str]:
    """The clip's frame keys in order, the frame each names, its PNG files and the JSON text."""
    keys = sorted(doc["frames"], key=natural_order)
    images = numbered_images(path.parent) if path.parent.is_dir() else []
    text = read_text(path) if keys else ""
    if images:
        order = {p.stem: i for i, p in enumerate(images)}
    elif keys and all(_DIGITS.fullmatch(k) for k in keys):
        order = {k: parse_int(k, "frame", path, _line(text, k)) for k in keys}
    else:
        order = {k: i for i, k in enumerate(keys)}
    return keys, order, images, text


def faces(path: Path, ctx: ImportContext) -> list[GivenFaces]:
    """The 68 landmarks of each frame (in pixels of its PNG) and the clip's ``actor``, for the faces stage."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), dict):
        raise InputError(path, "expected an object with a 'frames' mapping (AFEW-VA clip annotation)", 1)
    vid = str(doc.get("video_id") or path.stem)
    keys, order, _, text = _frames(path, doc)
    frames, points = [], []
    for k in keys:
        lm = doc["frames"][k].get("landmarks") if isinstance(doc["frames"][k], dict) else None
        if lm is None or k not in order:
            continue
        arr = np.asarray(lm, np.float64) if isinstance(lm, list) else np.zeros(0)
        if arr.shape != (68, 2) or not np.isfinite(arr).all():
            raise InputError(path, f"frame {shown(k)}: landmarks are not 68 [x, y] pairs", _line(text, k))
        frames.append(order[k])
        points.append(arr)
    n = len(frames)
    actor = doc.get("actor")
    return [GivenFaces(vid, np.asarray(frames, np.int64), np.full((n, 4), np.nan),
                       np.asarray(points, np.float64).reshape(n, 68, 2), str(actor) if actor not in (None, "") else None)]


def _scaled(value: object) -> float:
    """An AFEW-VA rating (-10…10) as -1…1; text, bools, NaN and inf are not ratings."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    x = float(value) / 10.0
    if not math.isfinite(x):
        raise ValueError(value)
    return x


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """``<out>/<video>/<video>.json`` with a key ``00000``… per frame of the 30 fps video where valence and arousal
    are both labelled (a frame holds both or is left out), VA ×10; the subject as ``actor``."""
    paths = []
    for vid, rows in by_video(table):
        va = rows.va()
        both = ~np.isnan(va).any(1)
        if not both.any():
            continue
        frames = {f"{int(f):05d}": {"valence": round(float(v) * 10, 3), "arousal": round(float(a) * 10, 3)}
                  for f, (v, a) in zip(rows.frame["frame"].to_numpy()[both], va[both], strict=True)}
        doc = {"video_id": vid, "frames": frames}
        if ctx.video(vid).subject is not None:
            doc["actor"] = ctx.video(vid).subject
        p = out / vid / f"{vid}.json"
        io.write_text(p, json.dumps(doc, indent=1))
        paths.append(p)
    return paths


register(Format("afew-va", "AFEW-VA clip JSON (valence/arousal -10…10 per PNG frame)", read, write, (".json",)))
