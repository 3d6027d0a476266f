"""AFEW-VA: one folder per clip with PNG frames and ``<clip>.json`` holding ``frames`` → {valence, arousal
(-10…10), landmarks}. Keys equal the PNG names (not assumed to start at 0 or 1): they are mapped to files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import (
    Format,
    ImportContext,
    labels_table,
    read_json,
    read_text,
    register,
    shown,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.media.probe import image_sequence
from affcurate.names import check_name
from affcurate.workspace import Workspace


def _order(key: str) -> list[Any]:
    # natural order of frame keys (00002 before 00010): ASCII digit runs compare as numbers, by their length
    # without leading zeros and then their digits (int() of a run of thousands of digits raises)
    parts = re.split(r"([0-9]+)", key)
    return [(len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p.lower() for i, p in enumerate(parts)]


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
    keys = sorted(doc["frames"], key=_order)
    images = image_sequence(path.parent) if path.parent.is_dir() else []
    order = {p.stem: i for i, p in enumerate(images)} if images else {k: i for i, k in enumerate(keys)}
    text = read_text(path) if keys else ""
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
    ann = Annotation(vid, "va", ctx.annotator or "afew-va", data, source="afew-va", clock="source",
                     time_base="frame", fps=fps, shape="dense", complete=bool(images) and len(rows) == len(images),
                     origin=str(path), extra=extra)
    return [validated(ann, ctx, np.asarray(lines, np.int64))]


def _scaled(value: object) -> float:
    """An AFEW-VA rating (-10…10) as -1…1; text, bools, NaN and inf are not ratings."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    x = float(value) / 10.0
    if not math.isfinite(x):
        raise ValueError(value)
    return x


def write(ws: Workspace, out: Path) -> list[Path]:
    """``<out>/<video>/<video>.json`` with frames keyed ``00000``… (frames of the 30 fps video), VA ×10."""
    labels = labels_table(ws)
    manifest = ws.manifest().set_index("video_id")
    paths = []
    for vid, part in labels.groupby("video_id", sort=False):
        part = part[part["valence"].notna()]
        if part.empty:
            continue
        frames = {f"{int(r.frame):05d}": {"valence": round(float(r.valence) * 10, 3),
                                          "arousal": round(float(r.arousal) * 10, 3)} for r in part.itertuples()}
        doc = {"video_id": vid, "frames": frames}
        if vid in manifest.index and not pd.isna(manifest.loc[vid, "subject"]):
            doc["actor"] = str(manifest.loc[vid, "subject"])
        p = out / vid / f"{vid}.json"
        io.write_text(p, json.dumps(doc, indent=1))
        paths.append(p)
    return paths


register(Format("afew-va", "AFEW-VA clip JSON (valence/arousal -10…10 per PNG frame)", read, write, (".json",)))
