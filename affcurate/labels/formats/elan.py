"""ELAN annotation files (``.eaf``), read and written with pympi-ling.

Tiers: one per AU (``AU12``), an annotation where the AU is present, its value empty or the intensity (0-5, or a
FACS letter A-E for 1-5); ``AU12_intensity``, runs of one intensity (0 where the AU is coded absent);
``expression``, the value a class of ``labels.expressions``; ``valence`` and ``arousal``: ELAN has no continuous
tiers, so each is one annotation per run of frames with one value, the value the number. Other tiers are left
alone. An AU tier says "absent" wherever it has no annotation. ELAN counts milliseconds: a frame at time t is in
an annotation when start ≤ t < end, to the millisecond; a media TIME_ORIGIN (ELAN's media offset) is added.

Export writes one file per video, times of the 30 fps grid, the source video linked beside the file, and the
header properties ``affcurate.video_id`` and ``affcurate.clock`` = grid. On import the clock is ``--clock``, else
that property, else source (the media an annotator opens is the original video); the video is that property, else
the linked video's file name, else the file's name.
"""

from __future__ import annotations

import math
import mimetypes
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
from pympi.Elan import Eaf, to_string

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import (
    MAX_POSITION,
    ExportContext,
    Format,
    ImportContext,
    au_from_openface_name,
    by_video,
    label_frames,
    register,
    segments,
    shown,
    validated,
)
from affcurate.labels.model import CLOCKS, Annotation
from affcurate.labels.table import LabelTable
from affcurate.names import check_name
from affcurate.workspace import safe_video_id

GRID_FPS = 30.0
"""The grid rate the times are written at (the workspace default; ExportContext does not carry the rate)."""
VIDEO_ID, CLOCK = "affcurate.video_id", "affcurate.clock"
EXPRESSION_TIERS = ("expression", "expressions", "expr", "emotion")
FACS_LETTERS = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0}
INTENSITY = "_intensity"


# ---- reading -------------------------------------------------------------------------------------------------

def _parse(path: Path) -> Eaf:
    if path.is_dir():
        raise InputError(path, "is a folder, expected an ELAN .eaf file")
    try:
        return Eaf(str(path), suppress_version_warning=True)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - pympi raises bare Exception, KeyError or IndexError for a bad file
        raise _why(path, exc) from None


def _why(path: Path, exc: Exception) -> InputError:
    """One line on why pympi could not read the file (it keeps neither the XML error's line nor the root)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        return InputError(path, f"not valid XML ({str(err).split(':')[0]}), expected an ELAN .eaf file", err.position[0])
    except (LookupError, ValueError):
        return InputError(path, "not valid XML (unknown encoding), expected an ELAN .eaf file in UTF-8")
    if root.tag != "ANNOTATION_DOCUMENT":
        return InputError(path, f"root element <{root.tag}>, expected <ANNOTATION_DOCUMENT> (an ELAN .eaf file)")
    what = f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) else (str(exc) or type(exc).__name__)[:80]
    return InputError(path, f"not an ELAN file that can be read ({what}); open it in ELAN and save it again")


def _au(name: str) -> str | None:
    """``AU12`` (or ``AU012``) → ``AU12``; None for a tier that is not named after one AU."""
    return au_from_openface_name(name) if "_" not in name else None


def _at(ms: int | None) -> str:
    return "at an unaligned time" if ms is None else f"at {ms / 1000:.3f} s"


def _annotations(eaf: Eaf, tier: str, path: Path) -> list[tuple[int, int, str]]:
    try:
        data = eaf.get_annotation_data_for_tier(tier)
    except KeyError as exc:
        raise InputError(path, f"tier {tier!r}: an annotation refers to {exc.args[0]!r}, which the file does not "
                               "have; open it in ELAN and save it again") from None
    out = []
    for a in data:
        start, end, value = a[0], a[1], (a[2] or "").strip()
        if start is None or end is None:
            what = f"annotation {shown(value)}" if value else "an annotation"
            raise InputError(path, f"tier {tier!r}: {what} has an unaligned time, expected time-aligned annotations")
        if end < start:
            raise InputError(path, f"tier {tier!r}: annotation {_at(start)} ends before it starts ({end} ms)")
        if end / 1000 > MAX_POSITION:
            raise InputError(path, f"tier {tier!r}: annotation {_at(start)} ends too late for a video")
        out.append((int(start), int(end), value))
    return sorted(out)


def _number(value: str, tier: str, ms: int, path: Path, lo: float, hi: float, what: str) -> float:
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or not lo <= v <= hi:
        raise InputError(path, f"tier {tier!r}: annotation {_at(ms)} has value {shown(value)}, expected {what}")
    return v


def _intensity(value: str, tier: str, ms: int, path: Path) -> float:
    if value.upper() in FACS_LETTERS:
        return FACS_LETTERS[value.upper()]
    return _number(value, tier, ms, path, 0, 5, "empty, an intensity 0-5 or a FACS letter A-E")


def _video_id(eaf: Eaf, path: Path) -> str:
    props = dict(eaf.properties)
    if props.get(VIDEO_ID):
        return check_name(str(props[VIDEO_ID]).strip(), "video id", f"{path}: property {VIDEO_ID}")
    media = _media(eaf)
    url = (media or {}).get("MEDIA_URL") or (media or {}).get("RELATIVE_MEDIA_URL")
    if url:
        name = PurePosixPath(unquote(urlparse(url).path).replace("\\", "/")).stem
        if name:
            return safe_video_id(name)
    return safe_video_id(path.stem)


def _media(eaf: Eaf) -> dict | None:
    """The linked video (the first video descriptor, else the first medium)."""
    media = eaf.media_descriptors
    videos = [m for m in media if str(m.get("MIME_TYPE", "")).startswith("video")]
    return (videos or media or [None])[0]


def _clock(eaf: Eaf, ctx: ImportContext, path: Path) -> str:
    if ctx.clock:
        return ctx.clock
    given = str(dict(eaf.properties).get(CLOCK) or "source").strip()
    if given not in CLOCKS:
        raise InputError(path, f"property {CLOCK} is {shown(given)}, expected one of {', '.join(CLOCKS)}")
    return given


def _origin(eaf: Eaf, path: Path) -> int:
    raw = (_media(eaf) or {}).get("TIME_ORIGIN")
    if raw in (None, ""):
        return 0
    try:
        return int(raw)
    except ValueError:
        raise InputError(path, f"media TIME_ORIGIN {shown(raw)} is not a number of milliseconds") from None


def _interval(start: int, end: int, origin: int) -> dict[str, float] | None:
    """Seconds on the media's clock, the model's inclusive end: a frame at t is in it when start ≤ t < end, give
    or take the half millisecond ELAN rounds to (None: the annotation ends before the media starts)."""
    s, e = (start + origin - 0.5) / 1000, (end + origin - 0.5) / 1000
    return None if e < 0 else {"start": max(s, 0.0), "end": e}


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    eaf = _parse(path)
    vid, clock, origin = _video_id(eaf, path), _clock(eaf, ctx, path), _origin(eaf, path)
    aus = {a.lower(): a for a in ctx.settings.aus}
    classes = {c.lower(): i for i, c in enumerate(ctx.settings.expressions)}
    tiers = list(eaf.get_tier_names())
    presence = {a.lower() for a in map(_au, (t.strip() for t in tiers)) if a}
    lowered = {t.strip().lower() for t in tiers}
    rows: dict[str, list[dict]] = {"au": [], "expr": [], "va": []}
    for tier in tiers:
        name = tier.strip()
        is_intensity = name.lower().endswith(INTENSITY)
        au = _au(name[: -len(INTENSITY)] if is_intensity else name)
        if au is not None:
            if au.lower() not in aus:
                if ctx.only_workspace_aus:
                    continue
                raise InputError(path, f"tier {tier!r}: {au} is not in the workspace setting labels.aus; "
                                       "add it there, or pass --only-workspace-aus to leave such AUs out")
            au = aus[au.lower()]
            if is_intensity and au.lower() not in presence:
                raise InputError(path, f"tier {tier!r} has no tier {au} beside it, expected the AU's presence tier")
        for start, end, value in _annotations(eaf, tier, path):
            span = _interval(start, end, origin)
            if span is None:
                continue
            if au is not None and is_intensity:
                rows["au"].append({**span, f"{au}{INTENSITY}": _intensity(value, tier, start, path)})
            elif au is not None:
                if value and f"{au}{INTENSITY}".lower() in lowered:
                    raise InputError(path, f"tier {tier!r}: intensity {shown(value)} {_at(start)} is also given by tier "
                                           f"{au}{INTENSITY}, expected it in one of them")
                row = {**span, au: 1}
                if value:
                    row[f"{au}{INTENSITY}"] = _intensity(value, tier, start, path)
                rows["au"].append(row)
            elif name.lower() in EXPRESSION_TIERS:
                if value.lower() not in classes:
                    raise InputError(path, f"tier {tier!r}: {shown(value)} {_at(start)} is not an expression class, "
                                           f"expected one of {', '.join(ctx.settings.expressions)}")
                rows["expr"].append({**span, "expr": classes[value.lower()]})
            elif name.lower() in ("valence", "arousal"):
                v = _number(value, tier, start, path, -1, 1, "a number in [-1, 1]")
                rows["va"].append({**span, name.lower(): v})
    common = dict(source="elan", clock=clock, time_base="time", shape="intervals", complete=True, origin=str(path))
    out = []
    for task, r in rows.items():
        if r:
            data = pd.DataFrame(r)
            if task == "va":
                data = data.reindex(columns=["start", "end", "valence", "arousal"])
            out.append(Annotation(vid, task, ctx.annotator or "elan", data, **common))
    return [validated(a, ctx, np.ones(len(a.data), np.int64)) for a in out]


# ---- writing -------------------------------------------------------------------------------------------------

def _runs(frames: np.ndarray, values: np.ndarray) -> list[tuple[int, int, np.float32]]:
    """(first, last, value) of each run of consecutive frames with one value; NaN is no value."""
    keep = ~np.isnan(values)
    f, v = frames[keep], values[keep].astype(np.float32)
    if len(f) == 0:
        return []
    breaks = np.flatnonzero((np.diff(f) != 1) | (v[1:] != v[:-1]))
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, len(f) - 1]
    return [(int(f[s]), int(f[e]), v[s]) for s, e in zip(starts, ends, strict=True)]


def _text(v: np.float32) -> str:
    """The shortest text that reads back as the same float32."""
    return np.format_float_positional(v, trim="-")


def _document(vid: str, ctx: ExportContext) -> Eaf:
    eaf = Eaf(author="affcurate")
    eaf.remove_tier("default")
    eaf.header.update({"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    media = ctx.video(vid).source or f"{vid}.mp4"
    eaf.add_linked_file(f"file:///{media}", relpath=f"./{media}",
                        mimetype=mimetypes.guess_type(media)[0] or "video/mp4")
    eaf.properties += [(VIDEO_ID, vid), (CLOCK, "grid")]
    # the expression tier offers the classes as a controlled vocabulary, so ELAN lets annotators pick one
    eaf.add_language("und", "http://cdb.iso.org/lg/CDB-00130975-001", "undetermined (und)")
    eaf.add_controlled_vocabulary("expressions")
    for k, name in enumerate(ctx.labels.expressions):
        eaf.add_cv_entry("expressions", f"cveid{k}", [(name, "und", None)])
    eaf.add_linguistic_type("expression-lt", param_dict={
        "LINGUISTIC_TYPE_ID": "expression-lt", "TIME_ALIGNABLE": "true", "GRAPHIC_REFERENCES": "false",
        "CONTROLLED_VOCABULARY_REF": "expressions"})
    return eaf


def write(table: LabelTable, out: Path, ctx: ExportContext) -> list[Path]:
    """One ``<video>.eaf`` per video: AU, AU intensity, expression, valence and arousal tiers."""
    fps = float(ctx.fps or GRID_FPS)

    def ms(frame: int) -> int:
        return int(round(frame * 1000 / fps))

    paths = []
    for vid, rows in by_video(table):
        eaf = _document(vid, ctx)
        subject = ctx.video(vid).subject
        frames = rows.frame["frame"].to_numpy(np.int64)
        tiers: list[tuple[str, str, list[tuple[int, int, str]]]] = []
        for label, hit in label_frames(rows, ctx.labels.expressions):
            if label in rows.aus:
                tiers.append((label, "default-lt", [(s, e, "") for s, e in segments(hit)]))
        intensity = rows.au_intensity()
        for j, au in enumerate(rows.aus):
            if f"{au}{INTENSITY}" in rows.frame.columns and not np.isnan(intensity[:, j]).all():
                tiers.append((f"{au}{INTENSITY}", "default-lt",
                              [(s, e, _text(v)) for s, e, v in _runs(frames, intensity[:, j])]))
        if rows.has_task("expr"):
            names = ctx.labels.expressions
            tiers.append(("expression", "expression-lt",
                          [(s, e, names[int(v)]) for s, e, v in _runs(frames, rows.expr())]))
        for j, c in enumerate(("valence", "arousal")):
            if c in rows.frame.columns:
                tiers.append((c, "default-lt", [(s, e, _text(v)) for s, e, v in _runs(frames, rows.va()[:, j])]))
        for name, ling, spans in tiers:
            eaf.add_tier(name, ling=ling, part=subject)
            for s, e, value in spans:
                eaf.add_annotation(name, ms(s), ms(e + 1), value)
        eaf.properties = [(k, eaf.maxaid if k == "lastUsedAnnotation" else v) for k, v in eaf.properties]
        p = out / f"{vid}.eaf"
        io.write_bytes(p, b'<?xml version="1.0" encoding="UTF-8"?>\n' + to_string(eaf, encoding="UTF-8"))
        paths.append(p)
    return paths


register(Format("elan", "ELAN .eaf (pympi-ling): a tier per AU (intervals where present, value the intensity), "
                "AU_intensity, expression (class names) and valence/arousal tiers (ELAN has no continuous tiers: "
                "one annotation per run of equal values); times in ms of the 30 fps grid on export, of the source "
                "on import unless the file or --clock says grid", read, write, (".eaf",)))
