"""``LabelTable``: the one type for labels on the 30 fps grid, written by merge and read by everything after it.

One row per kept frame of a video. The task columns are those of :func:`affcurate.labels.model.task_columns`
(``AU12``/``AU12_intensity``, ``expr``, ``valence``/``arousal``); merge adds agreement (``*_agree``, ``*_std``),
counts (``*_n``), ``has_face`` and ``sources``. On disk presence and expression are nullable Int8, the rest
float32. Read through this type, "not labelled" has one encoding: NaN in the float arrays its accessors return,
with the matching boolean mask from :meth:`LabelTable.labelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, InputError, StageMissingError
from affcurate.labels.model import TASKS, task_columns

if TYPE_CHECKING:
    from affcurate.workspace import Workspace

KEY_COLUMNS = ("video_id", "frame")


def nullable_int8(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Presence or class values with NaN for not labelled, as the nullable Int8 stored on disk."""
    v = np.asarray(values, np.float64)
    missing = np.isnan(v)
    return pd.arrays.IntegerArray(np.where(missing, 0, v).astype(np.int8), missing)


@dataclass(frozen=True)
class LabelTable:
    """Labels on the grid: ``frame`` holds the rows; ``aus`` and ``n_classes`` say which columns mean what."""

    frame: pd.DataFrame
    aus: tuple[str, ...]
    n_classes: int
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in KEY_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"LabelTable: the rows need column(s) {', '.join(missing)}")

    # ---- construction and storage -----------------------------------------------------------------------
    @classmethod
    def from_frame(cls, df: pd.DataFrame, aus: list[str] | tuple[str, ...], n_classes: int,
                   meta: dict[str, Any] | None = None) -> LabelTable:
        """From rows with float or nullable task columns; presence and expression become nullable Int8."""
        df = df.copy()
        for c in [a for a in aus if a in df.columns] + (["expr"] if "expr" in df.columns else []):
            if not isinstance(df[c].dtype, pd.Int8Dtype):
                df[c] = nullable_int8(pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan))
        for c in [f"{a}_intensity" for a in aus] + ["valence", "arousal"]:
            if c in df.columns:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype(np.float32)
        if "has_face" not in df.columns:
            df["has_face"] = True
        return cls(df.reset_index(drop=True), tuple(aus), int(n_classes), dict(meta or {}))

    @classmethod
    def read(cls, ws: Workspace, columns: list[str] | None = None,
             videos: list[str] | None = None) -> LabelTable:
        """The workspace's merged labels (of ``videos`` only, if given); the one "run merge first" message when
        there are none."""
        path = ws.labels_path
        if not path.exists():
            raise StageMissingError(str(path), f"affcurate merge {ws.root}")
        s = ws.settings.labels
        return cls.read_path(path, s.aus, len(s.expressions), columns, videos)

    @classmethod
    def read_path(cls, path: str | Path, aus: list[str] | tuple[str, ...], n_classes: int,
                  columns: list[str] | None = None, videos: list[str] | None = None) -> LabelTable:
        if columns is not None:
            columns = list(dict.fromkeys([*KEY_COLUMNS, *columns]))
        try:
            df = io.read_parquet(path, columns=columns, where=None if videos is None else ("video_id", videos))
            meta = io.parquet_metadata(path)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a readable labels table ({exc})") from None
        missing = [c for c in KEY_COLUMNS if c not in df.columns]
        if missing:
            raise InputError(path, f"labels table without column(s) {', '.join(missing)}")
        return cls(df, tuple(a for a in aus if a in df.columns), n_classes, meta)

    def write(self, ws: Workspace) -> Path:
        """Atomically, as :func:`affcurate.io.write_parquet` writes; only the text columns are dictionary-encoded
        (the numbers have too many distinct values for a dictionary to pay off, and trying costs a fifth)."""
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.frame, preserve_index=False)
        if self.meta:
            meta = dict(table.schema.metadata or {})
            meta[b"affcurate"] = json.dumps(self.meta, sort_keys=True, default=str).encode()
            table = table.replace_schema_metadata(meta)
        texts = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        with io.atomic_path(ws.labels_path, suffix=".parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd", use_dictionary=texts or False)
        return ws.labels_path

    # ---- selection ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    @property
    def video_ids(self) -> list[str]:
        return list(pd.unique(self.frame["video_id"]))

    def for_video(self, video_id: str) -> LabelTable:
        """The rows of one video, in frame order (empty when the video has no labels)."""
        rows = self.frame[self.frame["video_id"] == video_id].sort_values("frame")
        return LabelTable(rows.reset_index(drop=True), self.aus, self.n_classes, self.meta)

    def select(self, keep: np.ndarray | pd.Series) -> LabelTable:
        rows = self.frame[np.asarray(keep, bool)].reset_index(drop=True)
        return LabelTable(rows, self.aus, self.n_classes, self.meta)

    # ---- tasks ------------------------------------------------------------------------------------------------
    def task_columns(self, task: str, intensity: bool = True) -> list[str]:
        """The value columns of ``task`` that this table holds."""
        discrete, continuous = task_columns(task, self.aus)
        cols = discrete + (continuous if intensity or task != "au" else [])
        return [c for c in cols if c in self.frame.columns]

    def has_task(self, task: str) -> bool:
        return bool(self.task_columns(task, intensity=False))

    @property
    def tasks(self) -> list[str]:
        return [t for t in TASKS if self.has_task(t)]

    def _floats(self, cols: list[str]) -> np.ndarray:
        if not cols:
            return np.full((len(self), 0), np.nan, np.float32)
        return np.stack([self.frame[c].to_numpy(np.float32, na_value=np.nan) for c in cols], 1)

    def au_presence(self) -> np.ndarray:
        """(N, A) float32: 1 present, 0 absent, NaN not labelled; columns in the order of ``aus``."""
        return self._floats(list(self.aus))

    def au_intensity(self) -> np.ndarray:
        """(N, A) float32 intensities (NaN where not given)."""
        cols = [f"{a}_intensity" for a in self.aus]
        out = np.full((len(self), len(cols)), np.nan, np.float32)
        for j, c in enumerate(cols):
            if c in self.frame.columns:
                out[:, j] = self.frame[c].to_numpy(np.float32, na_value=np.nan)
        return out

    def expr(self) -> np.ndarray:
        """(N,) float32 class index, NaN not labelled."""
        return self._floats(["expr"])[:, 0] if "expr" in self.frame.columns else np.full(len(self), np.nan, np.float32)

    def va(self) -> np.ndarray:
        """(N, 2) float32 valence and arousal, NaN not labelled."""
        out = np.full((len(self), 2), np.nan, np.float32)
        for j, c in enumerate(("valence", "arousal")):
            if c in self.frame.columns:
                out[:, j] = self.frame[c].to_numpy(np.float32, na_value=np.nan)
        return out

    def labelled(self, task: str) -> np.ndarray:
        """Per row and value of ``task`` (AUs: one column per AU; expr: one; va: two): is it labelled?"""
        values = {"au": self.au_presence, "expr": lambda: self.expr()[:, None], "va": self.va}
        if task not in values:
            raise AffcurateError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
        return ~np.isnan(values[task]())

    def on_grid(self, video_id: str, n_frames: int) -> dict[str, dict[str, np.ndarray]]:
        """One video's values on all ``n_frames`` frames of its grid (NaN where a frame was left out or not
        labelled), by task and column."""
        t = self.for_video(video_id)
        frames = t.frame["frame"].to_numpy(np.int64)
        inside = (frames >= 0) & (frames < n_frames)
        out: dict[str, dict[str, np.ndarray]] = {}
        for task in t.tasks:
            out[task] = {}
            for c in t.task_columns(task):
                v = np.full(n_frames, np.nan, np.float32)
                v[frames[inside]] = t.frame[c].to_numpy(np.float32, na_value=np.nan)[inside]
                out[task][c] = v
        return out
