"""AFEW-VA: one folder per clip with PNG frames and ``<clip>.json`` holding ``frames`` → {valence, arousal
(-10…10), landmarks}. Keys equal the PNG names (not assumed to start at 0 or 1): they are mapped to files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import Format, ImportContext, labels_table, register, validated
from affcurate.labels.model import Annotation
from affcurate.media.probe import image_sequence, natural_key
from affcurate.workspace import Workspace


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), dict):
        raise InputError(path, "expected an object with a 'frames' mapping (AFEW-VA clip annotation)", 1)
    vid = str(doc.get("video_id") or path.stem)
    keys = sorted(doc["frames"], key=natural_key)
    images = image_sequence(path.parent) if path.parent.is_dir() else []
    order = {p.stem: i for i, p in enumerate(images)} if images else {k: i for i, k in enumerate(keys)}
    rows = []
    for k in keys:
        if k not in order:
            raise InputError(path, f"frame {k!r} has no image {k}.png beside the JSON", 1)
        f = doc["frames"][k]
        try:
            v, a = float(f["valence"]) / 10.0, float(f["arousal"]) / 10.0
        except (KeyError, TypeError, ValueError):
            raise InputError(path, f"frame {k!r}: expected numeric valence and arousal", 1) from None
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise InputError(path, f"frame {k!r}: valence/arousal outside [-10, 10]", 1)
        rows.append((order[k], v, a))
    data = pd.DataFrame(rows, columns=["frame", "valence", "arousal"])
    fps = ctx.fps or ctx.source_fps(vid) or ctx.ws.settings.ingest.fps
    extra = {k: doc[k] for k in ("actor", "emotion") if k in doc}
    ann = Annotation(vid, "va", ctx.annotator or "afew-va", data, source="afew-va", clock="source",
                     time_base="frame", fps=fps, shape="dense", complete=bool(images) and len(rows) == len(images),
                     origin=str(path), extra=extra)
    return [validated(ann, ctx, np.ones(len(data), np.int64))]


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
