"""AVEC continuous ratings (RECOLA, SEWA): the ARFF gold standard (``@relation GOLDSTANDARD``, attributes
``Instance_name``, ``frameTime`` in seconds, ``GoldStandard``) and the ``;``-separated per-rater CSV (time, then
one column per rater). The dimension (valence or arousal) comes from the file name."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import InputError
from affcurate.labels.formats import (
    Format,
    ImportContext,
    read_table,
    read_text,
    register,
    shown,
    to_number,
    validated,
)
from affcurate.labels.model import Annotation, check_annotator_name
from affcurate.workspace import safe_video_id


def _dimension(path: Path) -> str:
    name = "/".join(path.parts[-2:]).lower()  # the file or its folder (RECOLA: arousal/dev_1.arff)
    for d in ("valence", "arousal"):
        if d in name:
            return d
    raise InputError(path, "the file name must say whether it holds valence or arousal (e.g. arousal/dev_1.arff)")


def _video(path: Path) -> str:
    stem = re.sub(r"[_.-]?(valence|arousal)[_.-]?", "", path.stem, flags=re.IGNORECASE)
    return safe_video_id(stem or path.parent.name)


def _va(dim: str, time: pd.Series, values: pd.Series) -> pd.DataFrame:
    other = "arousal" if dim == "valence" else "valence"
    return pd.DataFrame({"time": time.astype(np.float64), dim: values.astype(np.float64), other: np.nan})


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    dim = _dimension(path)
    common = dict(source="avec", clock=ctx.clock or "source", time_base="time", fps=None, shape="dense",
                  complete=False, origin=str(path))
    if path.suffix.lower() == ".arff":
        text = [ln.rstrip("\r") for ln in read_text(path).split("\n")]
        try:
            start = next(i for i, ln in enumerate(text) if ln.strip().lower() == "@data") + 1
        except StopIteration:
            raise InputError(path, "no @data section (ARFF)") from None
        rows, lines, names = [], [], []
        for i, ln in enumerate(text[start:], start=start + 1):
            if not ln.strip() or ln.startswith("%"):
                continue
            parts = [p.strip().strip("'\"") for p in ln.split(",")]
            if len(parts) != 3:
                raise InputError(path, f"{len(parts)} fields, expected Instance_name,frameTime,GoldStandard", i)
            names.append(parts[0])
            rows.append(parts[1:])
            lines.append(i)
        df = pd.DataFrame(rows, columns=["time", "value"])
        ln = np.asarray(lines)
        vid = safe_video_id(names[0]) if names else _video(path)
        data = _va(dim, to_number(df, "time", path, ln), to_number(df, "value", path, ln))
        return [validated(Annotation(vid, "va", ctx.annotator or "gold", data, **common), ctx, ln)]
    df, lines = read_table(path, sep=";")
    tcol = df.columns[0]
    raters = list(df.columns[1:])
    if not raters:
        raise InputError(path, f"only the column {shown(tcol)}, expected time;rater1;rater2… (AVEC ratings)", 1)
    for rater in raters if not ctx.annotator else []:  # rater columns become annotator names, so folders
        check_annotator_name(rater, where=f"{path}:1")
    time = to_number(df, tcol, path, lines)
    vid = _video(path)
    out = []
    for rater in raters:
        data = _va(dim, time, to_number(df, rater, path, lines))
        out.append(validated(Annotation(vid, "va", ctx.annotator or rater, data, **common), ctx, lines))
    return out


register(Format("avec", "AVEC/RECOLA gold-standard ARFF and ';'-separated per-rater CSV (valence or arousal)",
                read, None, (".arff", ".csv")))
