"""The statistics tables of a split (seed 001 Table 3.4 and friends), shown by `affcurate split` and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.split_check import part_column
from affcurate.workspace import Workspace


def summary_tables(ws: Workspace, assignment: pd.DataFrame, labels: pd.DataFrame | None = None
                   ) -> dict[str, pd.DataFrame]:
    """Seed 001 Table 3.4 and friends: per split the AU counts and %, the largest gap; expressions; VA; subjects
    and frames."""
    labels = io.read_parquet(ws.labels_path) if labels is None else labels
    col = part_column(assignment)
    part = labels["video_id"].map(assignment.set_index("video_id")[col])
    parts = [p for p in pd.unique(assignment[col])]
    out: dict[str, pd.DataFrame] = {}
    overview = pd.DataFrame({
        "subjects": assignment.groupby(col)["subject"].nunique(),
        "videos": assignment.groupby(col)["video_id"].nunique(),
        "frames": labels.groupby(part).size(),
    }).reindex(parts)
    overview.index.name = None
    overview["% frames"] = (100 * overview["frames"] / overview["frames"].sum()).round(2)
    out["overview"] = overview
    aus = [a for a in ws.settings.labels.aus if a in labels.columns]
    if aus:
        au = labels[aus].astype("Float64")
        counts = au.fillna(0).groupby(part).sum().T.reindex(columns=parts)
        rates = (100 * au.groupby(part).mean()).T.reindex(columns=parts)
        table = pd.concat({"count": counts.astype(int), "%": rates.astype(float).round(2)}, axis=1)
        table[("gap", "pp")] = (rates.max(axis=1) - rates.min(axis=1)).astype(float).round(2)
        table.index.name = "AU"
        table.columns.names = [None, None]
        out["au"] = table
    if "expr" in labels.columns and labels["expr"].notna().any():
        names = list(ws.settings.labels.expressions)
        e = labels["expr"].astype("Float64")
        ok = e.notna().to_numpy()
        named = pd.Series(np.asarray(names, dtype=object)[e[ok].astype(int).to_numpy()], index=e.index[ok])
        ct = pd.crosstab(named, part[ok]).reindex(columns=parts)
        ct = (100 * ct / ct.sum()).round(2)
        ct.index.name, ct.columns.name = "expression (%)", None
        out["expr"] = ct
    if "valence" in labels.columns and labels["valence"].notna().any():
        va = labels.groupby(part)[["valence", "arousal"]].agg(["mean", "std"]).reindex(parts).round(3)
        va.index.name = None
        out["va"] = va
    return out
