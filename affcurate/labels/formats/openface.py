"""OpenFace 2.x FeatureExtraction CSV: ``frame`` (1-based), ``timestamp`` (s), ``confidence``, ``success``,
…, ``AU01_r`` … (intensity 0-5) and ``AU01_c`` … (presence). Older versions separate the header with ", " and
have no ``face_id``. The AU outputs become a machine annotator (``openface``) of the AU task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import InputError
from affcurate.labels.formats import (
    Format,
    ImportContext,
    au_from_openface_name,
    read_table,
    register,
    shown,
    to_frame,
    to_number,
    validated,
)
from affcurate.labels.model import Annotation


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    df, lines = read_table(path)
    df.columns = [c.strip() for c in df.columns]
    for need in ("frame", "timestamp", "success"):
        if need not in df.columns:
            raise InputError(path, f"no {shown(need)} column, expected an OpenFace FeatureExtraction header", 1)
    if "face_id" in df.columns:
        fid = to_number(df, "face_id", path, lines)
        first = fid == fid.min()
        df, lines = df[first].reset_index(drop=True), lines[first.to_numpy()]
    success = to_number(df, "success", path, lines) > 0
    wanted = set(ctx.settings.aus)
    data = pd.DataFrame({"time": to_number(df, "timestamp", path, lines).astype(np.float64)})
    if ctx.clock == "grid" or ctx.fps:
        data = pd.DataFrame({"frame": to_frame(df, "frame", path, lines, first=1)})
    found = 0
    for c in df.columns:
        au = au_from_openface_name(c)
        if au is None or au not in wanted:
            continue
        if c.endswith("_c"):
            data[au] = to_number(df, c, path, lines).where(success).round()
            found += 1
        elif c.endswith("_r"):
            data[f"{au}_intensity"] = to_number(df, c, path, lines).where(success).clip(0, 5)
    if not found:
        raise InputError(path, f"no AU presence column (AU01_c …) for the workspace AUs {', '.join(ctx.settings.aus)}", 1)
    tb = "frame" if "frame" in data.columns else "time"
    # timestamps of OpenFace assume a constant rate from 0; repeated timestamps (a frame per face) are dropped,
    # and so are their lines, so that later rows are reported at their own line
    first = ~data[tb].duplicated().to_numpy()
    data, lines = data[first].reset_index(drop=True), lines[first]
    a = Annotation(path.stem, "au", ctx.annotator or "openface", data, source="openface",
                   clock=ctx.clock or "source", time_base=tb, fps=ctx.fps, shape="dense", complete=False,
                   origin=str(path))
    return [validated(a, ctx, lines)]


register(Format("openface", "OpenFace 2.x FeatureExtraction CSV (both header styles): AU presence and intensity "
                "as a machine annotator", read, None, (".csv",)))
