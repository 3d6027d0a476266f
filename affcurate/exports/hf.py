"""``affcurate export WS OUT --format hf``: a Hugging Face datasets folder that ``datasets.load_dataset(OUT)``
opens and the Hub shows, written with pyarrow alone.

``data/<split>-00000-of-0000N.parquet``: one row per labelled frame with a crop and a split (see
:mod:`affcurate.exports.frames`): ``image`` (the aligned crop as PNG, the Image feature's ``{bytes, path}``),
``video_id``, ``frame``, ``subject``, ``split`` (``fold`` with folds, ``licence`` when the manifest gives one),
the label columns of labels.parquet with null where not labelled (``AU12`` 0/1, ``AU12_intensity``, ``expr`` a
class label, ``valence``, ``arousal``) and per task a mask (``au_mask`` one per AU, ``expr_mask``, ``va_mask``
valence and arousal). ``README.md`` is the dataset card with the YAML header the Hub reads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.exports.card import card
from affcurate.exports.frames import Frames, frame_index
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace

MAX_SHARD_BYTES = 500_000_000
"""Raw pixels per shard at most (a PNG is smaller): shards of a few hundred MB, as the Hub recommends."""
ROW_GROUP = 100
"""Rows per Parquet row group: the Hub's viewer reads one group at a time."""
_SHARD = re.compile(r"(?P<split>\w+(?:\.\w+)*)-\d{5}-of-\d{5}\.parquet", re.ASCII)


@dataclass
class HfExport:
    """What was written: the files, and the rows of each split."""

    out: Path
    paths: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)


def _columns(frames: Frames, expressions: list[str]) -> list[tuple[str, pa.DataType, dict]]:
    """(name, Arrow type, datasets feature) of every column, in order."""
    lab = frames.labels
    value = lambda dtype: {"dtype": dtype, "_type": "Value"}  # noqa: E731
    cols: list[tuple[str, pa.DataType, dict]] = [
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]), {"_type": "Image"}),
        ("video_id", pa.string(), value("string")), ("frame", pa.int64(), value("int64")),
        ("subject", pa.string(), value("string")), ("split", pa.string(), value("string"))]
    if frames.has_folds:
        cols.append(("fold", pa.int64(), value("int64")))
    if frames.licences:
        cols.append(("licence", pa.string(), value("string")))
    if lab.has_task("au"):
        cols += [(a, pa.int8(), value("int8")) for a in lab.aus]
        cols += [(c, pa.float32(), value("float32")) for c in lab.task_columns("au") if c.endswith("_intensity")]
        cols.append(("au_mask", pa.list_(pa.bool_(), len(lab.aus)),
                     {"feature": value("bool"), "length": len(lab.aus), "_type": "Sequence"}))
    if lab.has_task("expr"):
        cols.append(("expr", pa.int64(), {"names": list(expressions), "_type": "ClassLabel"}))
        cols.append(("expr_mask", pa.bool_(), value("bool")))
    if lab.has_task("va"):
        cols += [(c, pa.float32(), value("float32")) for c in lab.task_columns("va")]
        cols.append(("va_mask", pa.list_(pa.bool_(), 2), {"feature": value("bool"), "length": 2, "_type": "Sequence"}))
    return cols


def _schema(cols: list[tuple[str, pa.DataType, dict]]) -> pa.Schema:
    features = {name: feature for name, _, feature in cols}
    # datasets reads the features from here when no card says them (load_dataset("parquet", data_files=…))
    return pa.schema([(n, t) for n, t, _ in cols]).with_metadata(
        {"huggingface": json.dumps({"info": {"features": features}})})


def _png(crop: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    if not ok:
        raise AffcurateError(f"a crop of shape {crop.shape} could not be encoded as PNG")
    return buf.tobytes()


def _images(ws: Workspace, keys: pd.DataFrame) -> list[dict]:
    """The crops of these rows as the Image feature's {bytes, path}, each video's read in one go in increasing
    order (HDF5 wants increasing indices)."""
    out: list[dict] = [{}] * len(keys)
    crop, frame = keys["crop"].to_numpy(np.int64), keys["frame"].to_numpy(np.int64)
    for vid, at in keys.groupby("video_id", sort=False).indices.items():
        at = at[np.argsort(crop[at], kind="stable")]
        with h5py.File(ws.crops_path(str(vid)), "r") as h5:
            block = h5["crops"][crop[at]]
        for i, img in zip(at.tolist(), block, strict=True):
            out[i] = {"bytes": _png(img), "path": f"{vid}/{frame[i]:06d}.png"}
    return out


def _batch(ws: Workspace, frames: Frames, cols: list[tuple[str, pa.DataType, dict]]) -> pa.RecordBatch:
    keys, lab = frames.keys, frames.labels
    images = _images(ws, keys)
    data: dict[str, object] = {"image": images, "video_id": keys["video_id"].astype(str).tolist(),
                               "frame": keys["frame"].to_numpy(np.int64), "split": keys["split"].astype(str).tolist(),
                               "subject": [None if pd.isna(s) else str(s) for s in keys["subject"].tolist()]}
    if "fold" in (c[0] for c in cols):
        data["fold"] = keys["fold"].to_numpy(np.int64)
    if frames.licences:
        data["licence"] = [frames.licences.get(str(v)) for v in keys["video_id"]]

    def nullable(values: np.ndarray) -> pa.Array:
        return pa.array(values, mask=np.isnan(values))

    if lab.has_task("au"):
        presence, intensity = lab.au_presence(), lab.au_intensity()
        for j, a in enumerate(lab.aus):
            data[a] = pa.array(np.nan_to_num(presence[:, j]).astype(np.int8), mask=np.isnan(presence[:, j]))
            if f"{a}_intensity" in lab.frame.columns:
                data[f"{a}_intensity"] = nullable(intensity[:, j])
        data["au_mask"] = _fixed_lists(lab.labelled("au"))
    if lab.has_task("expr"):
        e = lab.expr()
        data["expr"] = pa.array(np.nan_to_num(e, nan=0).astype(np.int64), mask=np.isnan(e))
        data["expr_mask"] = ~np.isnan(e)
    if lab.has_task("va"):
        va = lab.va()
        for j, c in enumerate(("valence", "arousal")):
            if c in lab.frame.columns:
                data[c] = nullable(va[:, j])
        data["va_mask"] = _fixed_lists(lab.labelled("va"))
    return pa.RecordBatch.from_arrays([pa.array(data[n], type=t) if not isinstance(data[n], pa.Array)
                                       else data[n].cast(t) for n, t, _ in cols], names=[n for n, _, _ in cols])


def _fixed_lists(mask: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(mask.reshape(-1)), mask.shape[1])


def _write_shard(ws: Workspace, frames: Frames, path: Path, cols: list, schema: pa.Schema) -> int:
    """One shard, written atomically in row groups; returns its rows' Arrow bytes (the card's num_bytes)."""
    size = 0
    with io.atomic_path(path, suffix=".parquet") as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for start in range(0, len(frames), ROW_GROUP):
                batch = _batch(ws, frames.select(np.arange(start, min(start + ROW_GROUP, len(frames)))), cols)
                writer.write_batch(batch, row_group_size=ROW_GROUP)
                size += batch.nbytes
    return size


def export_hf(ws: Workspace, out: str | Path, max_shard_bytes: int = MAX_SHARD_BYTES,
              progress: Callable[[str, int, int], None] | None = None) -> HfExport:
    """Write the Hugging Face folder under ``out``: everything is read and checked first; shards an earlier
    export left under ``out/data`` that this one does not write are removed at the end."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AffcurateError(f"{out} is a file, expected a folder for the dataset")
    frames = frame_index(ws, LabelTable.read(ws))
    if not len(frames):
        raise AffcurateError(f"no frame of {ws.labels_path} has both a crop and a split; nothing to export")
    datacard = ws.reports_dir / "datacard.md"
    datacard_text = datacard.read_text(encoding="utf-8") if datacard.exists() else None
    cols = _columns(frames, list(ws.settings.labels.expressions))
    schema = _schema(cols)
    per_shard = max(1, max_shard_bytes // max(h * w * 3 for h, w in frames.shapes.values()))
    result = HfExport(out, left_out=frames.left_out)
    sizes: dict[str, tuple[int, int]] = {}
    done, total = 0, len(frames)
    for split in frames.splits:
        rows = np.flatnonzero(frames.keys["split"].to_numpy() == split)
        n = math.ceil(len(rows) / per_shard)
        nbytes = files = 0
        for k in range(n):
            part = frames.select(rows[k * per_shard: (k + 1) * per_shard])
            path = out / "data" / f"{split}-{k:05d}-of-{n:05d}.parquet"
            nbytes += _write_shard(ws, part, path, cols, schema)
            files += path.stat().st_size
            result.paths.append(path)
            done += len(part)
            if progress:
                progress("hf export", done, total)
        result.rows[split] = len(rows)
        sizes[split] = (nbytes, files)
    readme = out / "README.md"
    io.write_text(readme, card(ws, frames, cols, sizes, datacard_text))
    result.paths.append(readme)
    written = {p.name for p in result.paths}
    for old in (out / "data").glob("*.parquet"):
        if _SHARD.fullmatch(old.name) and old.name not in written:
            old.unlink()
    return result
