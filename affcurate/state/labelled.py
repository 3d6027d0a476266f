"""Labelled samples per annotator and task, counted from each annotation table's Parquet footer (row counts and
null counts per column); only a table whose footer cannot settle it has its value columns read, never put on the
grid.

A sample is one row of the table in its own time base: a frame of the workspace's 30 fps video for the desk and
grid-clock imports (``frames``), a frame of the source video (``source frames``), a time stamp (``time
samples``), a keyframe (``keyframes``) or an interval (``intervals``). ``labelled`` counts the samples that carry
at least one value; ``affcurate merge`` puts them on the grid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from affcurate.labels.model import TASKS, task_columns

# columns of an annotation table that are no task values (a table of an unknown task: all the others are)
NOT_VALUES = {"video_id", "frame", "time", "start", "end", "annotator", "source", "confidence"}


def unit(meta: dict[str, Any]) -> str:
    """What one row of an annotation table is (see the module's text)."""
    if meta.get("shape") == "intervals":
        return "intervals"
    if meta.get("shape") == "keyframes":
        return "keyframes"
    if meta.get("time_base") == "time":
        return "time samples"
    return "source frames" if meta.get("clock") == "source" else "frames"


def _non_null(md: pq.FileMetaData, names: list[str]) -> dict[str, int] | None:
    """Values per column from the row groups' null counts, or None when a row group does not record them."""
    index = {md.schema.column(j).path: j for j in range(md.num_columns)}
    out = dict.fromkeys(names, 0)
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for name in names:
            stats = rg.column(index[name]).statistics
            if stats is None or not stats.has_null_count:
                return None
            out[name] += rg.num_rows - stats.null_count
    return out


def _values(task: str | None, names: list[str]) -> list[str]:
    """The task's value columns in the table (:func:`task_columns`; AUs: every ``AU…`` column it holds)."""
    if task == "au":
        return [n for n in names if n.startswith("AU")]
    if task in TASKS:
        return [n for n in names if n in sum(task_columns(task, ()), [])]
    return [n for n in names if n not in NOT_VALUES and "." not in n]


def count_file(path: str | Path) -> dict[str, Any]:
    """``rows``, ``labelled`` (rows with at least one value) and ``unit`` of one annotation table."""
    md = pq.read_metadata(path)
    raw = (md.metadata or {}).get(b"affcurate")
    meta = json.loads(raw) if raw else {}
    names = [md.schema.column(j).path for j in range(md.num_columns)]
    values = _values(meta.get("task"), names)
    rows = md.num_rows
    counts = _non_null(md, values) if values else {}
    if not values or not rows:
        labelled = 0
    elif counts is not None and (max(counts.values()) == rows or len(values) == 1 or not any(counts.values())):
        labelled = max(counts.values())  # one full column, one column, or none: the footer settles it
    else:
        table = pq.read_table(path, columns=values)
        any_value = pc.is_valid(table.column(0))
        for c in table.columns[1:]:
            any_value = pc.or_(any_value, pc.is_valid(c))
        labelled = int(pc.sum(pc.cast(any_value, pa.int64())).as_py() or 0)
    return {"rows": rows, "labelled": labelled, "unit": unit(meta)}


def per_annotator(listing: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Per annotator, task and unit: ``videos``, ``rows`` and ``labelled``; and the files that cannot be read,
    each with its one-line error."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    bad = []
    for f in listing:
        try:
            c = count_file(f["path"])
        except (OSError, ValueError, pa.ArrowException) as exc:
            bad.append({"id": f["path"], "error": f"not a readable annotation table ({' '.join(str(exc).split())})"})
            continue
        g = groups.setdefault((f["annotator"], f["task"], c["unit"]), {
            "annotator": f["annotator"], "task": f["task"], "unit": c["unit"], "videos": 0, "rows": 0, "labelled": 0})
        g["videos"] += 1
        g["rows"] += c["rows"]
        g["labelled"] += c["labelled"]
    return [groups[k] for k in sorted(groups)], bad
