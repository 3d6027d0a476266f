"""AffectNet ``training.csv`` / ``validation.csv``: ``subDirectory_filePath, face_x, face_y, face_width,
face_height, facial_landmarks, expression, valence, arousal``; expression codes 0 Neutral, 1 Happy, 2 Sad,
3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt, 8 None, 9 Uncertain, 10 No-Face; VA -2 where undefined.
An image of an image set (``affcurate ingest --images``) is found by its path and its labels land on its shard,
at frame ``index`` (one table per shard and task); any other image is a one-frame video whose id is its file
name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate.errors import InputError
from affcurate.faces.given import GivenFaces
from affcurate.labels.formats import (
    ExportContext,
    Format,
    ImportContext,
    by_video,
    read_table,
    register,
    shown,
    to_number,
    validated,
    write_csv,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.workspace import safe_video_id

CODES = ["Neutral", "Happiness", "Sadness", "Surprise", "Fear", "Disgust", "Anger", "Contempt"]
HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
          "expression", "valence", "arousal"]


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    df, lines = read_table(path)
    missing = [c for c in ("expression", "valence", "arousal") if c not in df.columns]
    if list(df.columns)[:1] != ["subDirectory_filePath"] or missing:
        raise InputError(path, f"header must start {','.join(HEADER[:3])}… and name expression, valence and "
                               "arousal (AffectNet)", 1)
    classes = [c.lower() for c in ctx.settings.expressions]
    code = to_number(df, "expression", path, lines)
    bad = code.isna() | ~code.isin(range(11))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"expression {shown(df['expression'].iloc[i])} is not an AffectNet code 0-10", int(lines[i]))
    names = code.map(lambda k: CODES[int(k)].lower() if k < len(CODES) else None)
    expr = names.map(lambda n: classes.index(n) if n in classes else (classes.index("other")
                                                                       if n == "contempt" and "other" in classes
                                                                       else np.nan))
    v, a = to_number(df, "valence", path, lines), to_number(df, "arousal", path, lines)
    v, a = v.where(v != -2), a.where(a != -2)
    vids = pd.Series([safe_video_id(Path(fp).stem) for fp in df["subDirectory_filePath"]])
    again = vids.duplicated().to_numpy()
    if again.any():
        i = int(np.flatnonzero(again)[0])
        first = int(lines[int(np.flatnonzero((vids == vids[i]).to_numpy())[0])])
        raise InputError(path, f"image {shown(vids[i])} is listed again (first at line {first}), expected each image "
                               "once", int(lines[i]))
    common = dict(source="affectnet", clock="grid", time_base="frame", fps=None, shape="dense", complete=True,
                  origin=str(path))
    name = ctx.annotator or "affectnet"
    # every image is a one-frame video: the values of all rows are checked at once (a row per position), then
    # each row becomes its image's table
    rows = np.arange(len(df))
    tables = {"expr": pd.DataFrame({"frame": rows, "expr": expr.to_numpy()}),
              "va": pd.DataFrame({"frame": rows, "valence": v.to_numpy(), "arousal": a.to_numpy()})}
    out = []
    in_sets = _image_rows(ctx, df)
    for task, data in tables.items():
        checked = validated(Annotation("affectnet", task, name, data, **common), ctx, lines).data
        out += _on_shards(checked, in_sets, task, name, common)
        for i, vid in enumerate(vids):
            if i in in_sets.index:
                continue
            one = checked.iloc[i: i + 1].reset_index(drop=True).assign(frame=np.zeros(1, np.int64))
            out.append(Annotation(vid, task, name, one, **common))
    return out


def _image_rows(ctx: ImportContext, df: pd.DataFrame) -> pd.DataFrame:
    """Per row of the file that names an image of an image set: its shard and index (by row position)."""
    if not ctx.ws.images_path.exists():
        return pd.DataFrame(columns=["shard", "index"])
    from affcurate.imagesets.lookup import ImageNames
    from affcurate.imagesets.table import read_images

    images = read_images(ctx.ws)
    names = ImageNames(images)
    found = [names.find(str(fp)) for fp in df["subDirectory_filePath"]]
    at = images.set_index("image_id")
    rows = [(i, str(at.at[v, "shard"]), int(at.at[v, "index"])) for i, v in enumerate(found) if v is not None]
    return pd.DataFrame([(s, k) for _, s, k in rows], index=[i for i, _, _ in rows], columns=["shard", "index"])


def _on_shards(checked: pd.DataFrame, rows: pd.DataFrame, task: str, name: str, common: dict) -> list[Annotation]:
    """One table per shard: the rows of its images at their index (the shard's frame), in frame order."""
    if rows.empty:
        return []
    part = checked.iloc[rows.index.to_numpy()].assign(frame=rows["index"].to_numpy(np.int64),
                                                     _shard=rows["shard"].to_numpy())
    # an interval of one frame per image: its label holds on its frame and nowhere else (no length fix or
    # interpolation reaches a neighbour), and the files of one import (training.csv, validation.csv) add up
    shape = {**common, "shape": "intervals", "complete": False}
    out = []
    for shard, one in part.groupby("_shard", sort=True):
        data = one.drop(columns="_shard").sort_values("frame").reset_index(drop=True)
        frame = data.pop("frame")
        data.insert(0, "end", frame)
        data.insert(0, "start", frame)
        out.append(Annotation(str(shard), task, name, data, **shape))
    return out


def faces(path: Path, ctx: ImportContext) -> list[GivenFaces]:
    """Each image's face box and 68 landmarks (``x;y;x;y…``, pixels of the image), for the faces stage; a row
    with neither gives no face."""
    return list(faces_by_name(path, ctx).values())


def faces_by_name(path: Path, ctx: ImportContext) -> dict[str, GivenFaces]:
    """The faces of :func:`faces` by the image path each row names (``subDirectory_filePath``), for image sets."""
    df, lines = read_table(path)
    out = {}
    for i, r in enumerate(df.itertuples(index=False)):
        vid = safe_video_id(Path(str(r.subDirectory_filePath)).stem)
        try:
            x, y, w, h = (float(getattr(r, c)) for c in ("face_x", "face_y", "face_width", "face_height"))
        except (AttributeError, TypeError, ValueError):
            raise InputError(path, "face_x, face_y, face_width and face_height must be numbers", int(lines[i])) from None
        box = np.array([[x, y, x + w, y + h]]) if w > 0 and h > 0 else np.full((1, 4), np.nan)
        raw = str(getattr(r, "facial_landmarks", "") or "").strip()
        lm = np.zeros((1, 0, 2))
        if raw and raw.lower() != "nan":
            try:
                values = np.array([float(v) for v in raw.split(";") if v.strip()])
            except ValueError:
                raise InputError(path, "facial_landmarks must be numbers x;y;x;y…", int(lines[i])) from None
            if len(values) != 136:
                raise InputError(path, f"facial_landmarks has {len(values)} numbers, expected 136 (68 points)",
                                 int(lines[i]))
            lm = values.reshape(1, 68, 2)
        if np.isnan(box).any() and lm.shape[1] == 0:
            continue
        out[str(r.subDirectory_filePath)] = GivenFaces(vid, np.zeros(1, np.int64), box, lm)
    return out


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """``training.csv``: a row per video, of its first frame with an expression or valence-arousal (its first
    frame when none has), or per labelled image of an image set's shard; the subject's face box on it (0 where
    unknown); code 8 (None) and -2 where unlabelled."""
    classes = list(ctx.labels.expressions)
    rows = []
    for vid, part in by_video(table):
        expr, va = part.expr(), part.va()
        labelled = ~np.isnan(expr) | ~np.isnan(va).all(1)
        images = ctx.faces(vid).meta.get("images")
        frames = part.frame["frame"].to_numpy()
        if images:  # a shard of an image set: a row per labelled image, named as it was ingested
            picks = [(i, images[int(frames[i])]) for i in np.flatnonzero(labelled) if frames[i] < len(images)]
        else:
            picks = [(int(np.argmax(labelled)), _image_name(vid, ctx.video(vid).source))]  # 0 when none is
        for i, image in picks:
            name = classes[int(expr[i])] if not np.isnan(expr[i]) else None
            code = CODES.index(name) if name in CODES else (7 if name == "Other" else 8)
            box = ctx.boxes(vid, frames[i: i + 1])[0]
            x, y, w, h = (0, 0, 0, 0) if np.isnan(box).any() else (
                round(float(box[0])), round(float(box[1])), round(float(box[2] - box[0])),
                round(float(box[3] - box[1])))
            rows.append({"subDirectory_filePath": image, "face_x": x, "face_y": y, "face_width": w, "face_height": h,
                         "facial_landmarks": "", "expression": code,
                         "valence": -2 if np.isnan(va[i, 0]) else round(float(va[i, 0]), 4),
                         "arousal": -2 if np.isnan(va[i, 1]) else round(float(va[i, 1]), 4)})
    return [write_csv(out / "training.csv", pd.DataFrame(rows, columns=HEADER))]


def _image_name(vid: str, source: str | None) -> str:
    """The source's file name when it reads back as the video's id (the reader names images by their stem)."""
    if source and safe_video_id(Path(source).stem) == vid:
        return source
    return f"{vid}{Path(source).suffix if source else '.jpg'}"


register(Format("affectnet", "AffectNet training/validation CSV (expression codes, VA with -2 undefined)", read,
                write, (".csv",)))
