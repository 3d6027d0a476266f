"""`affcurate split --check`: a split judged against the workspace as it is now."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError, StageMissingError
from affcurate.imagesets.samples import sample_ids, sample_manifest
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace


def part_column(df: pd.DataFrame) -> str:
    """The column of a split table that names its parts: ``split`` or ``fold``."""
    return "split" if "split" in df.columns else "fold"


def check(ws: Workspace, path: str | Path | None = None) -> list[str]:
    """Problems of a split judged by the current manifest (a re-ingest may have changed who is in a video): a
    subject in two splits or folds, a person whose faces are in two (when ``affcurate subjects`` has run: see
    :func:`face_leaks`), a video the manifest no longer has, a labelled video left out."""
    path = Path(path) if path else ws.splits_path
    if not path.exists():
        raise StageMissingError(str(path), f"affcurate split {ws.root}")
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str)
        if "video_id" not in df.columns or not ({"split", "fold"} & set(df.columns)):
            raise InputError(path, "expected columns video_id and split (or fold)", 1)
    else:
        df = io.read_parquet(path)
    manifest = ws.manifest()
    if "image_id" in df.columns:  # an image of an image set is a sample, and a subject, of its own
        df = df.assign(video_id=df["image_id"].astype("string").fillna(df["video_id"].astype("string")))
        manifest = sample_manifest(ws, manifest)
    vids, part = df["video_id"].astype(str), df[part_column(df)].astype(str)
    # who counts as one person is what the split was made by; a CSV or an older split: the subject ids
    mode = (io.parquet_metadata(path).get("subjects") if path.suffix != ".csv" else None) or "given"
    manifest = manifest.set_index("video_id")
    # the subject column stored beside the split is what was true when it was made: never trusted here
    subj = vids.map(manifest["subject"].astype("string")).fillna("video:" + vids)
    problems = []
    gone = sorted(set(vids) - set(manifest.index))
    if gone:
        problems.append(f"{len(gone)} videos of the split are not in the manifest: {_few(gone)}")
    for s_, parts in part.groupby(subj) if mode in ("given", "both") else ():
        if parts.nunique() > 1:
            where = " and ".join(sorted(parts.unique()))
            listed = _few([f"{v} ({p})" for v, p in sorted(zip(vids[parts.index], parts, strict=True))])
            problems.append(f"subject {s_} is in {where} (leakage): {listed}")
    for r in face_leaks(ws, path).itertuples():
        problems.append(f"the faces of {r.video_a} ({r.split_a}) and {r.video_b} ({r.split_b}) are one person, "
                        f"{r.identity} (distance {r.distance:.2f}; leakage)")
    if ws.labels_path.exists():  # before merge there is nothing labelled to miss
        labelled = set(sample_ids(ws, LabelTable.read(ws, columns=["video_id", "frame"]).frame))
        missing = sorted(labelled - set(vids))
        if missing:
            problems.append(f"{len(missing)} labelled videos are in no split: {_few(missing)}")
    return problems


def face_leaks(ws: Workspace, path: str | Path | None = None) -> pd.DataFrame:
    """Per identity of ``affcurate subjects`` found in two parts of the split: its closest pair of videos across
    the parts (video_a, split_a, video_b, split_b, distance, identity); empty without identities."""
    from affcurate.identity import has_identities, read_identities, video_descriptors

    cols = ["video_a", "split_a", "video_b", "split_b", "distance", "identity"]
    if not has_identities(ws):
        return pd.DataFrame(columns=cols)
    path = Path(path) if path else ws.splits_path
    df = pd.read_csv(path, dtype=str) if path.suffix == ".csv" else io.read_parquet(path)
    where = dict(zip(df["video_id"].astype(str), df[part_column(df)].astype(str), strict=True))
    ident = read_identities(ws).dropna(subset=["identity"])
    ident = ident[ident["video_id"].isin(where)]
    rows = []
    for name, group in ident.groupby("identity", sort=True):
        vids = list(group["video_id"])
        if len({where[v] for v in vids}) < 2:
            continue
        ids, x = video_descriptors(ws, vids)
        best = None
        for i, a in enumerate(ids):
            for j in range(i + 1, len(ids)):
                b = ids[j]
                if where[a] != where[b]:
                    d = float(np.linalg.norm(x[i] - x[j]))
                    if best is None or d < best[4]:
                        best = (a, where[a], b, where[b], d, str(name))
        if best is not None:
            rows.append(best)
    return pd.DataFrame(rows, columns=cols)


def _few(items: list[str], n: int = 8) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
