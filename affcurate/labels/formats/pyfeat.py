"""py-feat Fex CSV: face box, landmarks, pose, ``AU01`` … (probabilities or intensities), emotions
(``anger … neutral`` or capitalised ``Happy`` …), ``input``, ``frame`` (0-based), sometimes ``valence``,
``arousal``. AUs become presence (≥ 0.5), emotions the most probable expression."""

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
    to_frame,
    to_number,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.workspace import safe_video_id

EMOTION_NAMES = {"anger": "Anger", "angry": "Anger", "disgust": "Disgust", "fear": "Fear", "happiness": "Happiness",
                 "happy": "Happiness", "sadness": "Sadness", "sad": "Sadness", "surprise": "Surprise",
                 "neutral": "Neutral"}


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    df, lines = read_table(path)
    if not any(c.startswith("AU") for c in df.columns) or "FaceScore" not in df.columns:
        raise InputError(path, "not a py-feat Fex CSV: expected FaceRectX…FaceScore and AU01… columns", 1)
    if "frame" in df.columns:
        frame = to_frame(df, "frame", path, lines)
    else:
        frame = pd.Series(np.arange(len(df)), dtype=np.int64)
    vid = ctx_video(df, path)
    keep = ~frame.duplicated().to_numpy()  # one face per frame: the first (py-feat's order)
    df, lines, frame = df[keep].reset_index(drop=True), lines[keep], frame[keep].reset_index(drop=True)
    fps = ctx.fps or ctx.source_fps(vid) or ctx.ws.settings.ingest.fps
    common = dict(source="pyfeat", clock=ctx.clock or "source", time_base="frame", fps=fps, shape="dense",
                  complete=False, origin=str(path))
    name = ctx.annotator or "pyfeat"
    out = []
    wanted = set(ctx.settings.aus)
    au = pd.DataFrame({"frame": frame})
    for c in df.columns:
        au_name = au_from_openface_name(c) if "_" not in c else None
        if au_name in wanted:
            v = to_number(df, c, path, lines)
            au[au_name] = (v >= 0.5).astype(float).where(v.notna())
    if au.shape[1] > 1:
        out.append(Annotation(vid, "au", name, au, **common))
    emo = [c for c in df.columns if c.lower() in EMOTION_NAMES]
    classes = [c.lower() for c in ctx.settings.expressions]
    if emo:
        probs = np.stack([to_number(df, c, path, lines).to_numpy(np.float64) for c in emo], 1)
        best = np.argmax(np.nan_to_num(probs, nan=-np.inf), 1)
        index = {c: classes.index(EMOTION_NAMES[c.lower()].lower()) if EMOTION_NAMES[c.lower()].lower() in classes
                 else np.nan for c in emo}  # an emotion the workspace does not study gives no class
        target = np.array([index[emo[i]] for i in best], np.float64)
        target[np.isnan(probs).all(1)] = np.nan  # no emotion scored on this frame: no expression
        out.append(Annotation(vid, "expr", name, pd.DataFrame({"frame": frame, "expr": target}), **common))
    if "valence" in df.columns and "arousal" in df.columns:
        va = pd.DataFrame({"frame": frame, "valence": to_number(df, "valence", path, lines).clip(-1, 1),
                           "arousal": to_number(df, "arousal", path, lines).clip(-1, 1)})
        out.append(Annotation(vid, "va", name, va, **common))
    return [validated(a, ctx, lines) for a in out]


def ctx_video(df: pd.DataFrame, path: Path) -> str:
    if "input" in df.columns and df["input"].iloc[0]:
        return safe_video_id(Path(df["input"].iloc[0]).stem)
    return safe_video_id(path.stem)


register(Format("pyfeat", "py-feat Fex CSV: AU presence, most probable expression, valence-arousal when present",
                read, None, (".csv",)))
