"""Reading many annotation tables and frame maps in one columnar pass (Polars: its parquet scan reads a list of
files on all cores in one call, where a loop over thousands of small files pays the per-file cost in Python).

What is read is what :func:`affcurate.labels.model.read_annotation` reads with ``plain=True``: each table's
metadata (clock, time base, fps, shape, …) and its position and value columns as float64 with NaN for empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from affcurate.errors import InputError
from affcurate.io import ROWS_KEY

if TYPE_CHECKING:
    from affcurate.workspace import Workspace

POSITIONS = ("frame", "time", "start", "end")
_CAST = {"integer_cast": ["upcast", "allow-float"], "float_cast": "upcast"}


@dataclass
class TableMeta:
    """What one stored annotation table says of itself (its ``affcurate`` metadata) and which columns it has."""

    path: str
    video_id: str
    task: str
    annotator: str
    source: str
    clock: str
    time_base: str
    fps: float | None
    shape: str
    complete: bool
    origin: str
    last_line: int | None
    columns: frozenset[str]
    rows: int | None = None
    """Its rows, as its writer recorded them (None: not recorded)."""

    @property
    def where(self) -> str:
        """``file:line`` of the last row, as :attr:`affcurate.labels.model.Annotation.where` says it."""
        return f"{self.origin}:{self.last_line}" if self.origin and self.last_line else self.origin


def _column_names(path: str, kv: dict[str, str]) -> frozenset[str]:
    if "pandas" in kv:  # the writer's pandas metadata lists the columns: no second read of the footer
        return frozenset(c["name"] for c in json.loads(kv["pandas"])["columns"] if c["name"] is not None)
    return frozenset(pl.read_parquet_schema(path))


def read_meta(path: str) -> TableMeta:
    """One table's metadata, from its footer only."""
    try:
        kv = pl.read_parquet_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to replace
        raise InputError(path, f"not a readable annotation table ({str(exc).splitlines()[0]})") from None
    if "affcurate" not in kv:
        raise InputError(path, "not an affcurate annotation table (no metadata)")
    m: dict[str, Any] = json.loads(kv["affcurate"])
    return TableMeta(path, m["video_id"], m["task"], m["annotator"], m.get("source", "affcurate"),
                     m.get("clock", "grid"), m.get("time_base", "frame"), m.get("fps"), m.get("shape", "dense"),
                     bool(m.get("complete", False)), m.get("origin") or path, m.get("last_line"),
                     _column_names(path, kv), int(kv[ROWS_KEY]) if kv.get(ROWS_KEY, "").isdigit() else None)


@dataclass
class Rows:
    """The rows of several tables, one after the other: ``start[i]``/``count[i]`` of table ``i`` of ``paths``."""

    columns: dict[str, np.ndarray]
    start: np.ndarray
    count: np.ndarray


def read_rows(paths: list[str], columns: list[str], present: set[str] | None = None,
              classes: frozenset[str] = frozenset(), rows: list[int | None] | None = None) -> Rows:
    """``columns`` of every table in ``paths`` as float64 (NaN: empty or no such column), in one scan; a column
    not in ``present`` (that no table has) is left out of the scan and of the result. Columns of ``classes``
    (presence, expression) are read as float32: exact for every whole class, at half the memory. ``rows``: each
    table's rows as recorded (:attr:`TableMeta.rows`); where one is missing, or they do not add up to the rows
    read, each row's file is read with it."""
    wanted = [c for c in columns if present is None or c in present]
    kinds = {c: pl.Float32 if c in classes else pl.Float64 for c in wanted}
    if not paths:
        return Rows({c: np.zeros(0, np.float32 if c in classes else np.float64) for c in wanted},
                    np.zeros(0, np.int64), np.zeros(0, np.int64))

    def scan(file_paths: str | None) -> pl.LazyFrame:
        return pl.scan_parquet(paths, schema=kinds, missing_columns="insert", extra_columns="ignore",
                               cast_options=pl.ScanCastOptions(**_CAST), include_file_paths=file_paths,
                               parallel="prefiltered")

    try:
        if rows is not None and all(r is not None for r in rows):
            df = scan(None).collect()
            count = np.asarray(rows, np.int64)
            if len(df) == count.sum():  # else a file was rewritten since: its rows are found as below
                return Rows({c: df.get_column(c).to_numpy() for c in wanted}, _starts(count), count)
        # each file's rows are one run of its path: their run number says which file a row is of
        lazy = scan("__path")
        df = lazy.with_columns(pl.col("__path").rle_id().alias("__file")).drop("__path").collect()
    except Exception:  # noqa: BLE001 - a column of another type: read the tables one by one, as pandas does
        out = _read_one_by_one(paths, wanted)
        out.columns.update({c: v.astype(np.float32) for c, v in out.columns.items() if c in classes})
        return out
    runs = np.bincount(df.get_column("__file").to_numpy()) if len(df) else np.zeros(0, np.int64)
    if len(runs) == len(paths):
        count = runs.astype(np.int64)
    else:  # some tables are empty: which files the runs are of
        names = lazy.select(pl.col("__path").unique(maintain_order=True)).collect().get_column("__path")
        sizes = dict(zip(names.to_list(), runs.tolist(), strict=True))
        count = np.array([sizes.get(p, 0) for p in paths], np.int64)
    return Rows({c: df.get_column(c).to_numpy() for c in wanted}, _starts(count), count)


def _starts(count: np.ndarray) -> np.ndarray:
    return np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)


def _read_one_by_one(paths: list[str], columns: list[str]) -> Rows:
    import pandas as pd

    from affcurate import io

    parts = []
    for p in paths:
        df = io.read_parquet_with_metadata(p, plain=True)[0]
        parts.append({c: pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
                      if c in df.columns else np.full(len(df), np.nan) for c in columns})
    count = np.array([len(next(iter(d.values()))) if d else 0 for d in parts], np.int64)
    data = {c: np.concatenate([d[c] for d in parts]) if parts else np.zeros(0) for c in columns}
    return Rows(data, _starts(count), count)


FRAME_MAP = ("frame", "time", "src_frame", "src_time")


def read_frame_maps(ws: Workspace, videos: list[str], columns: set[str] | None = None) -> Rows:
    """The frame maps' position columns of ``videos`` (``frame`` and those of ``columns``; default: all), as
    float64, every video after the other."""
    for vid in videos:
        if not ws.frames_path(vid).exists():
            ws.frame_map(vid)  # its one "run ingest first" message
    wanted = [c for c in FRAME_MAP if columns is None or c == "frame" or c in columns]
    return read_rows([str(ws.frames_path(vid)) for vid in videos], wanted)
