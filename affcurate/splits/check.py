"""`affcurate split --check`: a split judged against the workspace as it is now."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from affcurate import io
from affcurate.errors import InputError, StageMissingError
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


def part_column(df: pd.DataFrame) -> str:
    """The column of a split table that names its parts: ``split`` or ``fold``."""
    return "split" if "split" in df.columns else "fold"


def check(ws: Workspace, path: str | Path | None = None) -> list[str]:
    """Problems of a split judged by the current manifest (a re-ingest may have changed who is in a video): a
    subject in two splits or folds, a video the manifest no longer has, a labelled video left out."""
    path = Path(path) if path else ws.splits_path
    if not path.exists():
        raise StageMissingError(str(path), f"affcurate split {ws.root}")
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str)
        if "video_id" not in df.columns or not ({"split", "fold"} & set(df.columns)):
            raise InputError(path, "expected columns video_id and split (or fold)", 1)
    else:
        df = io.read_parquet(path)
    vids, part = df["video_id"].astype(str), df[part_column(df)].astype(str)
    manifest = ws.manifest().set_index("video_id")
    # the subject column stored beside the split is what was true when it was made: never trusted here
    subj = vids.map(manifest["subject"].astype("string")).fillna("video:" + vids)
    problems = []
    gone = sorted(set(vids) - set(manifest.index))
    if gone:
        problems.append(f"{len(gone)} videos of the split are not in the manifest: {_few(gone)}")
    for s_, parts in part.groupby(subj):
        if parts.nunique() > 1:
            where = " and ".join(sorted(parts.unique()))
            listed = _few([f"{v} ({p})" for v, p in sorted(zip(vids[parts.index], parts, strict=True))])
            problems.append(f"subject {s_} is in {where} (leakage): {listed}")
    if ws.labels_path.exists():  # before merge there is nothing labelled to miss
        labelled = set(LabelTable.read(ws, columns=["video_id"]).video_ids)
        missing = sorted(labelled - set(vids))
        if missing:
            problems.append(f"{len(missing)} labelled videos are in no split: {_few(missing)}")
    return problems


def _few(items: list[str], n: int = 8) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
