"""The statistics tables of a split (seed 001 Table 3.4 and friends), shown by `affcurate split` and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate.imagesets.samples import part_of
from affcurate.labels.table import LabelTable
from affcurate.splits.check import part_column
from affcurate.workspace import Workspace


def summary_tables(ws: Workspace, assignment: pd.DataFrame, labels: LabelTable | None = None
                   ) -> dict[str, pd.DataFrame]:
    """Seed 001 Table 3.4 and friends: per split the AU counts and %, the largest gap; expressions; VA; subjects
    and frames. ``labels`` defaults to the workspace's merged labels."""
    table = LabelTable.read(ws) if labels is None else labels
    rows = table.frame
    col = part_column(assignment)
    part = part_of(assignment, rows, col)  # by video, or by video and frame for the images of an image set
    parts = [p for p in pd.unique(assignment[col])]
    out: dict[str, pd.DataFrame] = {}
    overview = pd.DataFrame({
        "subjects": assignment.groupby(col)["subject"].nunique(),
        "videos": assignment.groupby(col)["video_id"].nunique(),
        **({"images": assignment.groupby(col)["image_id"].nunique()} if "image_id" in assignment.columns else {}),
        "frames": rows.groupby(part).size(),
    }).reindex(parts)
    overview.index.name = None
    overview["% frames"] = (100 * overview["frames"] / overview["frames"].sum()).round(2)
    out["overview"] = overview
    if table.aus:
        # float64 with NaN for not labelled: sums skip it, means are over the labelled frames
        au = pd.DataFrame(table.au_presence().astype(np.float64), columns=list(table.aus), index=rows.index)
        counts = au.groupby(part).sum().T.reindex(columns=parts)
        rates = (100 * au.groupby(part).mean()).T.reindex(columns=parts)
        table_au = pd.concat({"count": counts.astype(int), "%": rates.astype(float).round(2)}, axis=1)
        table_au[("gap", "pp")] = (rates.max(axis=1) - rates.min(axis=1)).astype(float).round(2)
        table_au.index.name = "AU"
        table_au.columns.names = [None, None]
        out["au"] = table_au
    ok = table.labelled("expr")[:, 0]
    if ok.any():
        names = np.asarray(ws.settings.labels.expressions, dtype=object)
        named = pd.Series(names[table.expr()[ok].astype(int)], index=rows.index[ok])
        ct = pd.crosstab(named, part[ok]).reindex(columns=parts)
        ct = ct.reindex([n for n in names if n in ct.index])  # the workspace's class order
        ct = (100 * ct / ct.sum()).round(2)
        ct.index.name, ct.columns.name = "expression (%)", None
        out["expr"] = ct
    if table.labelled("va")[:, 0].any():
        va = rows.groupby(part)[["valence", "arousal"]].agg(["mean", "std"]).reindex(parts).round(3)
        va.index.name = None
        out["va"] = va
    return out
