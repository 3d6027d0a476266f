"""DISFA: ``ActionUnit_Labels/SNxxx/SNxxx_au<k>.txt``, one file per subject and AU, lines ``frame,intensity``
(frame 1-based, intensity 0-5). Presence is intensity ≥ 2 (the common binarisation)."""

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
    register,
    to_frame,
    to_number,
    validated,
)
from affcurate.labels.model import Annotation

NAME = re.compile(r"(?P<video>.+)_au(?P<au>[0-9]{1,3})", re.IGNORECASE)
PRESENCE_FROM = 2


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    m = NAME.fullmatch(path.stem)
    if not m:
        raise InputError(path, "file name must look like SN001_au12.txt (DISFA)")
    vid, au = m.group("video"), f"AU{int(m.group('au'))}"
    if au not in ctx.settings.aus:
        return []  # an AU the workspace does not study
    df, lines = read_table(path, header=False, names=["frame", "intensity"])
    frame = to_frame(df, "frame", path, lines, first=1)
    inten = to_number(df, "intensity", path, lines)
    bad = (inten < 0) | (inten > 5)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"intensity {inten.iloc[i]:g} is outside 0-5", int(lines[i]))
    data = pd.DataFrame({"frame": frame, au: (inten >= PRESENCE_FROM).astype(float).where(inten.notna()), f"{au}_intensity": inten})
    fps = ctx.fps or ctx.source_fps(vid) or ctx.ws.settings.ingest.fps
    a = Annotation(vid, "au", ctx.annotator or "disfa", data, source="disfa", clock="source", time_base="frame",
                   fps=fps, shape="dense", complete=True, origin=str(path))
    return [validated(a, ctx, lines)]


register(Format("disfa", "DISFA per-AU intensity files (presence = intensity ≥ 2)", read, None, (".txt",)))
