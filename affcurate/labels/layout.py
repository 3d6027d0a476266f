"""labels.parquet as merge writes it: its columns and their types, decided by every merged video's tasks before
any batch is merged, so that each batch leaves its worker as the rows of the file it will be, and the file is
written batch by batch while the next ones are merged.

The text columns (``video_id``, ``sources``) go to the file as dictionaries, each batch's few distinct texts
once and a number per row: no text per row is ever built. The file's Arrow schema names them ``large_string``,
the type every reader gets back, and the pandas metadata is that of the frame merge returns, so the file reads
as one written from that frame (float NaN stored as null, presence and expression as nullable Int8)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from affcurate.labels.model import TASKS, task_columns

TEXTS = ("video_id", "sources")
"""The text columns: written from their numbers."""

TEXT = pd.Series(["x"]).dtype
"""The type pandas gives texts (what a reader of a text column gets)."""


def task_output(task: str, aus: tuple[str, ...] | list[str]) -> list[str]:
    """The columns a task adds to a merged video, in their order."""
    discrete, continuous = task_columns(task, aus)
    cols = [x for c in discrete for x in (c, f"{c}_agree" if task == "au" else "expr_agree")]
    cols += [x for c in continuous for x in ((c, f"{c}_std") if task == "va" else (c,))]
    return [*cols, f"{task}_n"]


@dataclass(frozen=True)
class Layout:
    """The columns of labels.parquet after ``video_id``, in their order, and what decides their types."""

    columns: tuple[str, ...]
    aus: tuple[str, ...]
    wide: frozenset[str]
    """Agreement columns of a task some video lacks: float64, as pandas widened them beside those videos' NaN."""

    @classmethod
    def of(cls, tasks: list[tuple[str, ...]], aus: tuple[str, ...] | list[str]) -> Layout:
        """For videos with ``tasks`` (in merge's order): each task's columns where a video first has it, the
        face mask and the sources after the first video's."""
        names: dict[str, None] = {}
        for i, ts in enumerate(tasks):
            for t in ts:
                names.update(dict.fromkeys(task_output(t, aus)))
            if i == 0:
                names.update(dict.fromkeys(["has_face", "sources"]))
        wide = {c for t in TASKS if any(t not in ts for ts in tasks) for c in task_output(t, aus)}
        return cls(("frame", *names), tuple(aus), frozenset(wide))

    def kind(self, c: str) -> str:
        """``int8`` (nullable classes), ``int16`` (counts), ``float32``, ``float64``, ``int64``, ``bool``, ``text``."""
        if c in TEXTS:
            return "text"
        if c == "frame":
            return "int64"
        if c == "has_face":
            return "bool"
        if c in self.aus or c == "expr":
            return "int8"
        if c.endswith("_n"):
            return "int16"
        if c.endswith("_intensity") or c in ("valence", "arousal"):
            return "float32"
        return "float64" if c in self.wide else "float32"

    @cached_property
    def schema(self) -> pa.Schema:
        """The schema a reader gets: texts as ``large_string``, with the pandas metadata of merge's frame."""
        dtypes = {"text": TEXT, "int8": pd.Int8Dtype()}
        return read_schema({c: dtypes.get(self.kind(c), self.kind(c)) for c in ("video_id", *self.columns)})

    @cached_property
    def stored(self) -> pa.Schema:
        """The schema of the batches: texts as dictionaries of their numbers."""
        return stored_schema(self.schema)

    def typed(self, columns: dict[str, np.ndarray], total: int) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """A batch's merged columns (floats with NaN for empty, as the fusion leaves them) in their stored types:
        per column, (values, where empty or None); a column no video of the batch has is empty throughout."""
        out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for c in self.columns:
            if c == "sources":
                continue
            kind = self.kind(c)
            v = columns.get(c)
            if v is None:
                v = np.zeros(total, np.int16) if kind == "int16" else np.full(total, np.nan, np.float32)
            if kind in ("int64", "bool", "int16"):
                out[c] = (v.astype(kind, copy=False), None)
                continue
            empty = np.isnan(v)
            if kind == "int8":  # as the nullable Int8 of the per-video merge: whole classes, cut
                out[c] = (np.where(empty, 0, v).astype(np.int8), empty)
            else:
                out[c] = (v.astype(kind, copy=False), empty if empty.any() else None)
        return out

    def batch(self, typed: dict[str, tuple[np.ndarray, np.ndarray | None]], keep: np.ndarray | None,
              vids: list[str], kept_per_video: np.ndarray, sources: tuple[list[str], np.ndarray]) -> pa.RecordBatch:
        """The kept rows of a batch (``keep``: a mask of its rows, None for all) as stored."""
        arrays: list[pa.Array] = [dictionary(np.repeat(np.arange(len(vids), dtype=np.int32), kept_per_video),
                                             vids)]
        for c in self.columns:
            if c == "sources":
                texts, codes = sources
                arrays.append(dictionary(codes if keep is None else codes[keep], texts))
                continue
            values, empty = typed[c]
            if keep is not None:
                values, empty = values[keep], None if empty is None else empty[keep]
            arrays.append(pa.array(values, mask=empty if empty is not None and empty.any() else None))
        return pa.RecordBatch.from_arrays(arrays, schema=self.stored)

    def frame(self, batches: list[pa.RecordBatch]) -> pd.DataFrame:
        """The rows of ``batches`` as the pandas frame a reader of labels.parquet gets."""
        return as_read(pa.Table.from_batches(batches, schema=self.stored), self.schema)


def read_schema(dtypes: dict[str, Any]) -> pa.Schema:
    """The Arrow schema, with pandas' metadata, of a frame of these column types (as a reader gets it back)."""
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def stored_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with its texts as dictionaries."""
    texts = pa.dictionary(pa.int32(), pa.large_string())
    return pa.schema([pa.field(f.name, texts) if pa.types.is_large_string(f.type) else f for f in schema],
                     metadata=schema.metadata)


def as_read(table: pa.Table, schema: pa.Schema) -> pd.DataFrame:
    """A table of dictionary texts as the pandas frame a reader of its file gets."""
    return table.cast(schema).to_pandas()


def dictionary(codes: np.ndarray, texts: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(texts, pa.large_string()))


class TextWriter:
    """A Parquet file written a record batch at a time (each a row group), its texts given as dictionaries
    (each distinct text once, a number per row) and stored as such, while the file's schema names them
    ``large_string`` as ``schema`` does: the type and metadata every reader gets back. :meth:`close` adds the
    ``affcurate`` metadata; the caller's atomic rename makes the file what it replaces. ``keys``: the columns
    readers pick rows by (each row group's least and greatest value is stored for them)."""

    def __init__(self, path: Path, schema: pa.Schema, keys: tuple[str, ...] = ("video_id",)) -> None:
        self.schema = schema
        self.rows = 0
        texts = [f.name for f in schema if pa.types.is_large_string(f.type)]
        self._writer = pq.ParquetWriter(path, stored_schema(schema), compression="zstd",
                                        use_dictionary=texts or False, store_schema=False,
                                        write_statistics=[k for k in keys if k in schema.names])

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        self._writer.write(batch, row_group_size=max(len(batch), 1))
        self.rows += len(batch)

    def close(self, meta: dict[str, Any] | None = None) -> None:
        keys = {"pandas": self.schema.metadata[b"pandas"].decode()}
        if meta is not None:
            keys["affcurate"] = json.dumps(meta, sort_keys=True, default=str)
        schema = self.schema.with_metadata(keys)  # what a reader takes the types and metadata from
        self._writer.add_key_value_metadata({**keys, "ARROW:schema": base64.b64encode(
            schema.serialize().to_pybytes()).decode()})
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()
