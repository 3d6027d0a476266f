"""Atomic writes: a killed command leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from affcurate.errors import AffcurateError

_UMASK = os.umask(0)
os.umask(_UMASK)


def _temporary_beside(path: Path, suffix: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the writer's pid in the name lets a later writer remove what a killed one left (affcurate.lock)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.~{os.getpid()}~", suffix=suffix or ".tmp", dir=path.parent)
    except OSError as exc:  # a read-only workspace or folder: one line the user can act on
        raise AffcurateError(f"{path.parent}: cannot write {path.name} here ({exc.strerror or exc})") from None
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; finished files get the usual permissions
    return Path(tmp)


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only when the block succeeds."""
    path = Path(path)
    tmp_path = _temporary_beside(path, suffix)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextmanager
def scratch_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a working file named like ``path``'s temporaries (so two writers never share one, and a later
    writer removes it if this one is killed); it is deleted when the block ends, however it ends."""
    tmp_path = _temporary_beside(Path(path), suffix)
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


ROWS_KEY = "affcurate.rows"
"""Beside the ``affcurate`` metadata: the table's number of rows (a reader of many tables at once finds where
each one's rows are without reading their footers twice)."""


def write_parquet(df: pd.DataFrame, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
    """Write a table atomically; ``metadata`` is stored as JSON under the ``affcurate`` key (and the number of
    rows under :data:`ROWS_KEY`)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        meta = dict(table.schema.metadata or {})
        meta[b"affcurate"] = json.dumps(metadata, sort_keys=True, default=str).encode()
        meta[ROWS_KEY.encode()] = str(len(df)).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet(path: str | Path, columns: list[str] | None = None,
                 where: tuple[str, list[Any]] | None = None) -> pd.DataFrame:
    """The table (or some ``columns`` of it); ``where=(column, values)`` reads only the rows whose column is one
    of ``values`` (row groups that hold none are skipped)."""
    filters = [(where[0], "in", list(where[1]))] if where is not None else None
    return pq.read_table(path, columns=columns, filters=filters).to_pandas()


def _affcurate_meta(schema: pa.Schema) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(b"affcurate")
    return json.loads(raw) if raw else {}


def parquet_metadata(path: str | Path) -> dict[str, Any]:
    return _affcurate_meta(pq.read_schema(path))


def read_parquet_with_metadata(path: str | Path, plain: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table and its ``affcurate`` metadata from one read of the file. ``plain`` skips pandas' own metadata
    (three times faster on small tables): nullable integers come back as floats with NaN, strings as objects."""
    table = pq.ParquetFile(path).read()
    return table.to_pandas(ignore_metadata=plain), _affcurate_meta(table.schema)
