"""Building the manifest: which sources there are, their ids, subjects and labels."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from affcurate.errors import AffcurateError, InputError
from affcurate.media.probe import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_image_sequence
from affcurate.workspace import safe_video_id, validate_video_id

MANIFEST_COLUMNS = [
    "video_id", "path", "kind", "sha256", "size", "subject", "label", "source", "status", "error",
    "duplicate_of", "container", "codec", "width", "height", "rotation", "avg_fps", "real_fps", "duration",
    "n_frames", "vfr", "has_audio", "out_width", "out_height", "out_frames", "target_track", "target_side",
    "meta",
]
KNOWN_LIST_COLUMNS = {"path", "video_id", "subject", "label", "source", "target_track", "target"}
SIDES = ("left", "right")
"""Where the subject is when a video has several (Aff-Wild2's ``NAME_left``/``NAME_right``)."""


@dataclass
class Candidate:
    """One source found on disk or named in a list, before probing."""

    path: Path
    kind: str  # video | images
    video_id: str | None = None
    subject: str | None = None
    label: str | None = None
    source: str | None = None
    target_track: int | None = None
    target_side: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # line of the list file it came from


def real_path(path: Path) -> Path:
    """``path`` with its links resolved; a link loop (which cannot be resolved) stays as it is, absolute."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python raises RuntimeError for a symlink loop
        return Path(os.path.abspath(path))


def scan_folder(root: Path, skipped: list[str] | None = None) -> list[Candidate]:
    """Every video file below ``root`` and every folder of numbered images (one video each), sorted. A folder
    link that leads back to a folder above it (a loop) is not followed; its reason goes to ``skipped``."""
    root = Path(root)
    if not root.is_dir():
        raise AffcurateError(f"{root}: not a folder")
    found: list[Candidate] = []
    skipped = [] if skipped is None else skipped

    def walk(folder: Path, above: dict[tuple[int, int], Path]) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        if folder != root and is_image_sequence(folder) and not any(
            e.is_file() and e.suffix.lower() in VIDEO_EXTENSIONS for e in entries
        ):
            found.append(Candidate(folder, "images"))
            return
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_dir():
                st = e.stat()
                here = (st.st_dev, st.st_ino)
                if here in above:
                    skipped.append(f"{e}: not followed, a link back to {above[here]} (a loop)")
                    continue
                walk(e, {**above, here: e})
            elif (e.is_file() or e.is_symlink()) and e.suffix.lower() in VIDEO_EXTENSIONS:
                found.append(Candidate(e, "video"))  # a dangling or looping link becomes that video's error

    try:
        if is_image_sequence(root) and not any(p.suffix.lower() in VIDEO_EXTENSIONS for p in root.iterdir()):
            return [Candidate(root, "images")]
        st = root.stat()
        walk(root, {(st.st_dev, st.st_ino): root})
    except OSError as exc:  # an unreadable subfolder: refused before anything is written
        raise AffcurateError(f"{exc.filename or root}: cannot read ({exc.strerror or exc}); make it readable "
                             f"or move it out of {root}") from None
    return found


def read_list(path: Path) -> list[Candidate]:
    """Candidates from a CSV list: ``path`` required; ``video_id, subject, label, source, target`` (``left``,
    ``right`` or a track id; ``target_track`` is the older name of a track id) optional; any other column is kept
    as metadata. Relative paths are relative to the list's folder. One path may be listed several times, once
    per subject, with a ``target`` each."""
    path = Path(path)
    if not path.exists():
        raise AffcurateError(f"{path}: list file not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise InputError(path, "empty list, expected a header line with a 'path' column", 1)
        header = [h.strip() for h in reader.fieldnames]
        if "path" not in header:
            raise InputError(path, f"header {','.join(header)} has no 'path' column, expected e.g. path,subject", 1)
        if len(set(header)) != len(header):
            raise InputError(path, "repeated column name in the header", 1)
        out: list[Candidate] = []
        for lineno, raw in enumerate(reader, start=2):
            if None in raw:
                raise InputError(path, f"{len(header) + len(raw[None])} fields, expected {len(header)}", lineno)
            row = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
            if not row.get("path"):
                raise InputError(path, "empty path, expected the path of a video or image folder", lineno)
            p = Path(row["path"])
            p = p if p.is_absolute() else (path.parent / p)
            kind = "images" if p.is_dir() or p.suffix.lower() in IMAGE_EXTENSIONS else "video"
            vid = row.get("video_id") or None
            if vid:
                try:
                    validate_video_id(vid)
                except AffcurateError as exc:
                    raise InputError(path, str(exc), lineno) from None
            tt, side = _target(path, lineno, row.get("target_track") or None, row.get("target") or None)
            meta = {k: v for k, v in row.items() if k not in KNOWN_LIST_COLUMNS and v not in (None, "")}
            out.append(
                Candidate(p, kind, vid, row.get("subject") or None, row.get("label") or None,
                          row.get("source") or None, tt, side, meta, lineno)
            )
    return out


def _target(path: Path, line: int, track: str | None, target: str | None) -> tuple[int | None, str | None]:
    """(track id, side) of a list row's subject: ``target`` is a side or a track id."""
    if target is not None and target.lower() in SIDES:
        if track is not None:
            raise InputError(path, f"target {target!r} and target_track {track!r} both name the subject, "
                                   "expected one of them", line)
        return None, target.lower()
    value = target if target is not None else track
    if value is None:
        return None, None
    try:
        return int(value), None
    except ValueError:
        name = "target" if target is not None else "target_track"
        raise InputError(path, f"{name} {value!r} is neither a side nor a track id, expected left, right or a "
                               "whole number", line) from None


def apply_path_rules(
    candidates: Iterable[Candidate], root: Path | None, subject_from: str | None, label_from_folder: bool
) -> list[Candidate]:
    """Fill subject from a regex's named group ``subject`` and label from the parent folder's name."""
    rx = None
    if subject_from:
        try:
            rx = re.compile(subject_from)
        except re.error as exc:
            raise AffcurateError(f"--subject-from {subject_from!r}: not a valid regular expression ({exc})") from None
        if "subject" not in rx.groupindex:
            raise AffcurateError(f"--subject-from {subject_from!r}: needs a named group, e.g. (?P<subject>[^/]+)")
    out = []
    for c in candidates:
        rel = c.path.relative_to(root).as_posix() if root and c.path.is_relative_to(root) else c.path.as_posix()
        if rx is not None and c.subject is None:
            m = rx.search(rel)
            if m and m.group("subject"):
                c.subject = m.group("subject")
        if label_from_folder and c.label is None:
            c.label = c.path.parent.name
        out.append(c)
    return out


def assign_ids(candidates: list[Candidate], taken: dict[str, str]) -> None:
    """Give every candidate a unique, safe video id. ``taken`` maps existing ids to their source paths;
    a path already in the workspace keeps its id."""
    by_path = {p: vid for vid, p in taken.items()}
    used = dict(taken)
    for c in candidates:
        key = str(real_path(c.path))
        if c.video_id:
            owner = used.get(c.video_id)
            if owner is not None and owner != key:
                where = f"line {c.line}" if c.line else str(c.path)
                raise AffcurateError(f"video id {c.video_id!r} ({where}) is already used by {owner}")
            used[c.video_id] = key
            continue
        if key in by_path:
            c.video_id = by_path[key]
            continue
        stem = c.path.name if c.path.is_dir() else c.path.stem
        base = safe_video_id(stem)
        vid = base
        parents = list(c.path.parent.parts[::-1])
        while vid in used and parents:
            base = safe_video_id(f"{parents.pop(0)}_{base}")
            vid = base
        n = 2
        while vid in used:
            vid = f"{base}_{n}"
            n += 1
        c.video_id = vid
        used[vid] = key


def empty_manifest() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in MANIFEST_COLUMNS})


def candidate_row(c: Candidate) -> dict[str, Any]:
    return {
        "video_id": c.video_id,
        "path": str(real_path(c.path)),
        "kind": c.kind,
        "subject": c.subject,
        "label": c.label,
        "source": c.source,
        "target_track": c.target_track,
        "target_side": c.target_side,
        "meta": json.dumps(c.meta, sort_keys=True) if c.meta else None,
        "status": "pending",
    }


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of the manifest contract."""
    for c in MANIFEST_COLUMNS:
        if c not in df.columns:
            df[c] = None
    extra = [c for c in df.columns if c not in MANIFEST_COLUMNS]
    df = df[MANIFEST_COLUMNS + extra].copy()
    for c in ("video_id", "path", "kind", "sha256", "subject", "label", "source", "status", "error",
              "duplicate_of", "container", "codec", "target_side", "meta"):
        df[c] = df[c].astype("string")
    for c in ("size", "width", "height", "rotation", "n_frames", "out_width", "out_height", "out_frames",
              "target_track"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("avg_fps", "real_fps", "duration"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("vfr", "has_audio"):
        df[c] = df[c].astype("boolean")
    return df.reset_index(drop=True)

