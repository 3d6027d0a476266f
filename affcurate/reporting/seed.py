"""Seed 001's Tables 3.1-3.4 in their own units, and what merge did to each video's length.

- Table 3.1: videos, frames, frames with at least one AU (and their share of the frames), AU annotations, per
  batch and in total, before merge's filters; beside it, the frames left after each filter.
- Table 3.2: per AU, its annotations and their share of all AU annotations (the shares sum to 100 %).
- Table 3.3: subjects per split, men and women.
- Table 3.4: per AU and split, its annotations in the kept frames and their share of the split's AU annotations,
  with the largest gap between splits.

A batch is the manifest's ``batch`` column, or the ``batch`` of a list's metadata (the manifest's ``meta``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from affcurate.imagesets.samples import part_of
from affcurate.labels.formats.common import natural_order
from affcurate.labels.table import LabelTable
from affcurate.reporting.counts import GridCounts
from affcurate.splits.check import part_column

TOTAL = "total"
MEN = ("m", "male", "man", "men")
WOMEN = ("f", "female", "woman", "women")


def manifest_field(manifest: pd.DataFrame, name: str) -> pd.Series:
    """A per-video value by video id, from the manifest's column ``name`` or its list metadata (JSON in
    ``meta``); None where a video has none."""
    m = manifest.set_index("video_id")
    if name in m.columns:
        values = m[name].astype(object)
    elif "meta" in m.columns:
        values = m["meta"].map(lambda s: json.loads(s).get(name) if isinstance(s, str) else None)
    else:
        values = pd.Series(None, index=m.index, dtype=object)
    return values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                      or str(v).strip() == "" else str(v).strip())


def batch_of(manifest: pd.DataFrame, videos: pd.Index) -> pd.Series | None:
    """Each video's batch name (``batch 1``, …), or None when the manifest names no batch."""
    raw = manifest_field(manifest, "batch").reindex(videos)
    if raw.isna().all():
        return None
    return raw.map(lambda v: "no batch" if v is None else (v if v.lower().startswith("batch") else f"batch {v}"))


def _groups(videos: pd.Index, batch: pd.Series | None) -> list[tuple[str, pd.Index]]:
    """(name, videos) per batch in natural order, then the total."""
    if batch is None:
        return [(TOTAL, videos)]
    names = sorted(batch.dropna().unique(), key=lambda b: (b == "no batch", natural_order(b)))
    return [(b, batch.index[batch == b]) for b in names] + [(TOTAL, videos)]


def _share(n: float, of: float, digits: int = 1) -> float:
    return round(100 * n / of, digits) if of else float("nan")


def general_table(c: GridCounts, batch: pd.Series | None) -> pd.DataFrame:
    """Table 3.1, one column per batch and the total; counts before merge's filters."""
    cols = {}
    for name, vids in _groups(c.videos.index, batch):
        v = c.videos.loc[vids]
        frames = int(v["frames"].sum())
        col: dict[str, object] = {"videos": len(v), "frames": frames}
        if "au" in c.tasks:
            col["frames with at least one AU"] = f"{int(v['au_positive'].sum())} " \
                                                 f"({_share(v['au_positive'].sum(), frames):.1f}%)"
            col["AUs annotated (frame × AU)"] = int(v[c.aus].to_numpy().sum())
        if "expr" in c.tasks:
            col["frames with an expression"] = int(v["expr"].sum())
        if "va" in c.tasks:
            col["frames with valence-arousal"] = int(v["va"].sum())
        cols[name] = col
    return pd.DataFrame(cols)


def filter_table(c: GridCounts, batch: pd.Series | None, meta: dict) -> pd.DataFrame:
    """The frames along merge's steps (the grid, its face step, then of those the labelled frames and those
    with an AU, and what labels.parquet kept), each with its share of the frames on the grid."""
    drop, keep = meta.get("drop_no_face"), meta.get("keep")
    rows = [("frames on the grid", "frames"),
            ("with the subject's face" if drop else "with the subject's face (all kept)",
             "after_face" if drop else "with_face"),
            ("labelled (any task)", "after_face_labelled")]
    if "au" in c.tasks:
        rows.append(("with at least one AU", "after_face_au_positive"))
    steps = [f"keep={keep}"] if keep else []
    steps += [f["step"] for f in meta.get("filters") or [] if str(f.get("step", "")).startswith("AU-negative")]
    rows.append((f"kept in labels.parquet ({', '.join(steps)})" if steps else "kept in labels.parquet", "kept"))
    cols = {}
    for name, vids in _groups(c.videos.index, batch):
        v = c.videos.loc[vids]
        frames = v["frames"].sum()
        cols[name] = {label: f"{int(v[key].sum())} ({_share(v[key].sum(), frames):.1f}%)" for label, key in rows}
    return pd.DataFrame(cols)


def au_share_table(c: GridCounts, batch: pd.Series | None) -> pd.DataFrame:
    """Table 3.2: per AU its annotations (frames where it is present) and their share of all AU annotations, per
    batch and in total; the AU's share of the frames beside them."""
    groups = _groups(c.videos.index, batch)
    one = len(groups) == 1
    counts = pd.DataFrame({name: c.videos.loc[vids, c.aus].sum() for name, vids in groups}).astype(np.int64)
    shares = (100 * counts / counts.sum().replace(0, np.nan)).round(1)
    out = pd.DataFrame(index=c.aus)
    for name in counts.columns:
        out["count" if one else f"count {name}"] = counts[name]
    for name in counts.columns:
        out["% of AU annotations" if one else f"% of AU annotations {name}"] = shares[name]
    out["% of frames"] = (100 * counts[TOTAL] / max(int(c.videos["frames"].sum()), 1)).round(2)
    total = {k: (int(out[k].sum()) if k.startswith("count") else (100.0 if out[k].notna().any() else np.nan))
             for k in out.columns if k != "% of frames"}
    out.loc[TOTAL] = pd.Series(total)
    out.index.name = "AU"
    for k in out.columns:
        if k.startswith("count"):
            out[k] = out[k].astype(np.int64)
    out.attrs["decimals"] = {k: 2 if k == "% of frames" else 1 for k in out.columns if k.startswith("%")}
    return out


def _parts(assignment: pd.DataFrame) -> list:
    col = part_column(assignment)
    order = {"train": 0, "val": 1, "test": 2}
    return sorted(pd.unique(assignment[col].dropna()), key=lambda p: (order.get(str(p), 3), natural_order(str(p))))


def gender_table(assignment: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame | None:
    """Table 3.3: subjects per split, and among them men and women (other values as written, ``unknown`` where
    the manifest says nothing); None when no video has a gender."""
    col = part_column(assignment)
    gender = manifest_field(manifest, "gender")
    if gender.reindex(assignment["video_id"]).isna().all():
        return None
    a = assignment.copy()
    a["subject"] = a["subject"].astype(object).where(a["subject"].notna(), "video:" + a["video_id"].astype(str))
    a["gender"] = a["video_id"].map(gender).map(_gender)
    # a subject's gender is the one most of its videos give
    per = a.groupby([col, "subject"])["gender"].agg(lambda g: g.dropna().mode().iloc[0] if g.notna().any() else None)
    per = per.fillna("unknown").rename("gender").reset_index()
    table = pd.crosstab(per[col], per["gender"]).reindex(_parts(assignment)).fillna(0).astype(np.int64)
    first = [g for g in ("men", "women") if g in table.columns]
    others = sorted(g for g in table.columns if g not in first and g != "unknown")
    table = table[first + others + (["unknown"] if "unknown" in table.columns else [])]
    table.insert(0, "subjects", table.sum(axis=1))
    table.loc[TOTAL] = table.sum()
    table.index.name, table.columns.name = "split", None
    return table


def _gender(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.lower()
    return "men" if v in MEN else "women" if v in WOMEN else value


def au_split_table(table: LabelTable, assignment: pd.DataFrame) -> pd.DataFrame | None:
    """Table 3.4: per AU and split, its annotations in the kept frames and their share of the split's AU
    annotations; a total row and the largest gap between the splits' shares (percentage points)."""
    if not table.aus:
        return None
    col = part_column(assignment)
    part = part_of(assignment, table.frame, col)  # images of an image set: per frame
    present = pd.DataFrame(np.nan_to_num(table.au_presence(), nan=0.0) == 1, columns=list(table.aus))
    parts = _parts(assignment)
    counts = present.groupby(part.to_numpy()).sum().T.reindex(columns=parts, fill_value=0).astype(np.int64)
    counts[TOTAL] = counts.sum(axis=1)
    shares = (100 * counts / counts.sum().replace(0, np.nan)).round(2)
    out = pd.DataFrame(index=list(table.aus))
    for p in counts.columns:
        out[f"count {p}"] = counts[p]
    for p in counts.columns:
        out[f"% {p}"] = shares[p]
    out["gap (pp)"] = (shares[parts].max(axis=1) - shares[parts].min(axis=1)).round(2)
    out.loc[TOTAL] = pd.Series({**{f"count {p}": int(counts[p].sum()) for p in counts.columns},
                                **{f"% {p}": 100.0 if counts[p].sum() else np.nan for p in counts.columns},
                                "gap (pp)": np.nan})
    for p in counts.columns:
        out[f"count {p}"] = out[f"count {p}"].astype(np.int64)
    out.index.name = "AU"
    out.attrs["decimals"] = {k: 2 for k in out.columns if not k.startswith("count")}
    return out


def length_fix_table(meta: dict) -> pd.DataFrame | None:
    """Each video's length fix as merge recorded it: how many samples its labels were longer (+, cropped) or
    shorter (-, extended) than the video; None when labels.parquet records none."""
    fixes = meta.get("length_fixes") or []
    if not fixes:
        return None
    df = pd.DataFrame(fixes, columns=["video_id", "task", "annotator", "samples"])
    df["fix"] = df["samples"].map(lambda n: f"cropped by {n}" if n > 0 else f"extended by {-n}")
    return df.rename(columns={"samples": "labels − video (samples)"})


def outside_table(meta: dict) -> pd.DataFrame | None:
    """Rows merge left out because they lie past a video's end beyond the tolerance."""
    rows = meta.get("warnings") or []
    if not rows:
        return None
    df = pd.DataFrame(rows)
    return df[[c for c in ("video_id", "task", "annotator", "outside") if c in df.columns]].rename(
        columns={"outside": "rows left out"})
