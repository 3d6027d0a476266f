"""Aff-Wild2 / ABAW challenge files: one ``<video>.txt`` per video and task, one line per video frame after a
header (``valence,arousal`` | the expression names | the AU names), sentinels -5 (VA) and -1 (EXPR, AU);
and the multi-task file ``image,valence,arousal,expression,AU1,…`` of static frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import (
    ExportContext,
    Format,
    ImportContext,
    by_video,
    read_table,
    read_text,
    register,
    shown,
    to_frame,
    to_number,
    validated,
)
from affcurate.labels.model import Annotation
from affcurate.labels.table import LabelTable
from affcurate.names import check_name

EXPR_2022 = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
MULTITASK = ("image", "valence", "arousal", "expression")
TASK_FOLDERS = {"va": "VA_Estimation_Challenge", "expr": "EXPR_Recognition_Challenge", "au": "AU_Detection_Challenge"}
SPLIT_FOLDERS = {"train": "Train_Set", "val": "Validation_Set", "test": "Test_Set"}


def _expr_map(header: list[str], ctx: ImportContext, path: Path) -> np.ndarray:
    classes = [c.lower() for c in ctx.settings.expressions]
    out = []
    for name in header:
        if name.lower() not in classes:
            raise InputError(path, f"expression {shown(name)} of the header is not a workspace class "
                                   f"({', '.join(ctx.settings.expressions)})", 1)
        out.append(classes.index(name.lower()))
    return np.asarray(out)


def _fps(ctx: ImportContext, vid: str) -> float:
    return ctx.fps or ctx.source_fps(vid) or ctx.ws.settings.ingest.fps


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    text = read_text(path)
    first = text.split("\n", 1)[0].strip()
    if first.split(",")[0].lower() in ("neutral", "anger"):
        # EXPR files: the header names the classes, each line holds one class index
        body = text.split("\n")[1:]
        keep = [(i, ln.strip()) for i, ln in enumerate(body, start=2) if ln.strip()]
        if not keep:
            raise InputError(path, "no rows after the header, expected one line per video frame", 2)
        df = pd.DataFrame({"expr": [v for _, v in keep]})
        lines = np.array([i for i, _ in keep], dtype=np.int64)
        return _read_expr(path, df, lines, first.split(","), ctx)
    df, lines = read_table(path)
    cols = list(df.columns)
    if cols[:1] == ["image"]:
        return _read_multitask(path, df, lines, ctx)
    vid = path.stem
    frames = pd.Series(np.arange(len(df)), dtype=np.int64)
    source = "abaw"
    common = dict(source=source, clock=ctx.clock or "source", time_base="frame", fps=_fps(ctx, vid),
                  shape="dense", complete=True, origin=str(path))
    annotator = ctx.annotator or "abaw"
    if cols == ["valence", "arousal"]:
        v = to_number(df, "valence", path, lines)
        a = to_number(df, "arousal", path, lines)
        data = pd.DataFrame({"frame": frames, "valence": v.where(v != -5), "arousal": a.where(a != -5)})
        return [validated(Annotation(vid, "va", annotator, data, **common), ctx, lines)]
    if cols and cols[0].startswith("AU"):
        unknown = [c for c in cols if c not in ctx.settings.aus]
        if unknown and not ctx.only_workspace_aus:
            raise InputError(path, f"AU {shown(unknown[0])} is not in the workspace setting labels.aus; add it "
                                   "there, or pass --only-workspace-aus to leave such AUs out", 1)
        data = pd.DataFrame({"frame": frames})
        for c in [c for c in cols if c in ctx.settings.aus]:
            v = to_number(df, c, path, lines)
            data[c] = v.where(v != -1)
        return [validated(Annotation(vid, "au", annotator, data, **common), ctx, lines)]
    raise InputError(path, f"header {shown(','.join(cols)[:60])} is not an ABAW header, expected valence,arousal or "
                           "the expression names or the AU names", 1)


def _read_expr(path: Path, df: pd.DataFrame, lines: np.ndarray, names: list[str], ctx: ImportContext
               ) -> list[Annotation]:
    vid = path.stem
    mapping = _expr_map(names, ctx, path)
    raw = to_number(df.set_axis(["expr"], axis=1), "expr", path, lines)
    bad = raw.isna() | ((raw != -1) & ~raw.isin(range(len(names))))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"expression {shown(df.iloc[i, 0])} is not -1 or a class 0-{len(names) - 1}", int(lines[i]))
    expr = raw.where(raw >= 0).map(lambda k: mapping[int(k)] if pd.notna(k) else np.nan)
    data = pd.DataFrame({"frame": np.arange(len(df), dtype=np.int64), "expr": expr})
    a = Annotation(vid, "expr", ctx.annotator or "abaw", data, source="abaw", clock=ctx.clock or "source",
                   time_base="frame", fps=_fps(ctx, vid), shape="dense", complete=True, origin=str(path))
    return [validated(a, ctx, lines)]


def _read_multitask(path: Path, df: pd.DataFrame, lines: np.ndarray, ctx: ImportContext) -> list[Annotation]:
    for need in MULTITASK:
        if need not in df.columns:
            raise InputError(path, f"no {shown(need)} column, expected {','.join(MULTITASK)},AU… (ABAW multi-task)", 1)
    img = df["image"].str.extract(r"^([^/]+)/[^0-9]*([0-9]+)")
    missing = img[1].isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(path, f"image {shown(df['image'].iloc[i])} must look like video/00001.jpg", int(lines[i]))
    df = df.assign(_video=img[0], _frame=img[1])
    out = []
    aus = [c for c in df.columns if c.startswith("AU")]
    for vid, part in df.groupby("_video", sort=False):
        ln = lines[part.index.to_numpy()]
        check_name(vid, "video id", f"{path}:{ln[0]}")
        part = part.reset_index(drop=True)
        common = dict(source="abaw", clock=ctx.clock or "source", time_base="frame", fps=_fps(ctx, vid),
                      shape="dense", complete=False, origin=str(path))
        fr = to_frame(part, "_frame", path, ln, first=1)  # crop 00001.jpg is frame 0
        v, a = to_number(part, "valence", path, ln), to_number(part, "arousal", path, ln)
        e = to_number(part, "expression", path, ln)
        mine = [Annotation(vid, "va", ctx.annotator or "abaw",
                           pd.DataFrame({"frame": fr, "valence": v.where(v != -5), "arousal": a.where(a != -5)}),
                           **common),
                Annotation(vid, "expr", ctx.annotator or "abaw",
                           pd.DataFrame({"frame": fr, "expr": e.where(e >= 0)}), **common)]
        if aus:
            au = pd.DataFrame({"frame": fr})
            for c in aus:
                x = to_number(part, c, path, ln)
                au[c] = x.where(x != -1)
            mine.append(Annotation(vid, "au", ctx.annotator or "abaw", au, **common))
        out += [validated(x, ctx, ln) for x in mine]
    return out


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """One file per video and task in the challenge layout (line i = frame i of the 30 fps video, sentinels
    where unlabelled), in the folder of the video's split (Train_Set without one), and
    ``cropped_aligned/<video>/{i:05d}.jpg``."""
    paths = []
    for vid, rows in by_video(table):
        n, frames = ctx.n_frames(vid, rows), rows.frame["frame"].to_numpy(np.int64)
        folder = SPLIT_FOLDERS.get(ctx.video(vid).split or "train", "Train_Set")
        va = rows.va()
        if rows.has_task("va") and not np.isnan(va).all():
            lines = (",".join("-5" if x == -5 else f"{x:.3f}" for x in r) for r in _on_grid(va, frames, n, -5))
            paths.append(_write(out / TASK_FOLDERS["va"] / folder / f"{vid}.txt", "valence,arousal", lines))
        expr = rows.expr()
        if rows.has_task("expr") and not np.isnan(expr).all():
            paths.append(_write(out / TASK_FOLDERS["expr"] / folder / f"{vid}.txt", ",".join(ctx.labels.expressions),
                                (str(int(v)) for v in _on_grid(expr, frames, n, -1))))
        aus, au = rows.aus, rows.au_presence()
        if aus and not np.isnan(au).all():
            paths.append(_write(out / TASK_FOLDERS["au"] / folder / f"{vid}.txt", ",".join(aus),
                                (",".join(str(int(v)) for v in r) for r in _on_grid(au, frames, n, -1))))
        paths += _crops(ctx, vid, out)
    return paths


def _on_grid(values: np.ndarray, frames: np.ndarray, n: int, sentinel: float) -> np.ndarray:
    """Values of the rows at ``frames`` as the ``n`` lines of the video, ``sentinel`` where a frame has none (rows
    past the video's end have no line)."""
    on = frames < n
    out = np.full((n, *values.shape[1:]), np.nan, np.float64)
    out[frames[on]] = values[on]
    return np.where(np.isnan(out), sentinel, out)


def _crops(ctx: ExportContext, vid: str, out: Path) -> list[Path]:
    """The subject's crops as ``cropped_aligned/<video>/{frame + 1:05d}.jpg``."""
    crops = ctx.crops(vid)
    if crops is None:
        return []
    paths = []
    with h5py.File(crops) as h5:
        for crop, f in zip(h5["crops"], h5["frames"][:], strict=True):
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            p = out / "cropped_aligned" / vid / f"{int(f) + 1:05d}.jpg"
            io.write_bytes(p, buf.tobytes())
            paths.append(p)
    return paths


def _write(path: Path, header: str, rows) -> Path:  # noqa: ANN001 - an iterable of lines
    io.write_text(path, header + "\n" + "\n".join(rows) + "\n")
    return path


register(Format("abaw", "Aff-Wild2 / ABAW challenge files (VA, EXPR, AU; the multi-task file); export with "
                "cropped_aligned", read, write, (".txt", ".csv")))
