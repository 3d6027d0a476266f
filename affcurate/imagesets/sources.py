"""Which still images an image set holds: every image file below a folder (each a sample of its own, not the
frames of a sequence), or the rows of a list; their ids, subjects and labels; and the shards they go to.

Images already in ``images.parquet`` keep their id, shard and index, so a rerun (or a list that grew) only adds
new shards; a shard's images never move.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.imagesets.table import typed
from affcurate.media import manifest as mf
from affcurate.media.probe import IMAGE_EXTENSIONS
from affcurate.names import check_name, safe_name

SHARD_SIZE = 1000
"""Images per shard: one faces table, one crop file, one frame map and one ledger entry per thousand images."""


@dataclass
class Source:
    """What ``--images`` named: a folder or a CSV list, and the set's name."""

    path: Path
    name: str
    is_list: bool


def source_of(path: str | Path, name: str | None = None) -> Source:
    """The image source at ``path`` (a folder of images, or a CSV list whose ``path`` column names them)."""
    p = mf.real_path(Path(path))
    if not p.exists():
        raise AffcurateError(f"{path}: not found; expected a folder of images or a CSV list of them")
    is_list = p.is_file()
    if is_list and p.suffix.lower() in IMAGE_EXTENSIONS:
        raise AffcurateError(f"{path}: one image; expected a folder of images or a CSV list of them")
    set_name = name or safe_name(p.stem if is_list else p.name, "images")
    check_name(set_name, "image set name", "--set")
    return Source(p, set_name, is_list)


def list_is_images(path: Path) -> bool:
    """Does every row of a ``--list`` name a still image file (so that it is an image set, not videos)?"""
    rows = mf.read_list(path)
    return bool(rows) and all(c.kind == "images" and c.path.suffix.lower() in IMAGE_EXTENSIONS for c in rows)


def scan(source: Source) -> list[mf.Candidate]:
    """The images of ``source``, in a stable order (sorted relative paths, or the list's order)."""
    if source.is_list:
        found = mf.read_list(source.path)
        for c in found:
            if c.path.is_dir() or c.path.suffix.lower() not in IMAGE_EXTENSIONS:
                raise AffcurateError(f"{source.path}:{c.line}: {c.path.name} is not an image file, expected "
                                     f"one of {', '.join(sorted(IMAGE_EXTENSIONS))} in a list of images")
            named = c.meta.pop("image_id", None)
            c.video_id = c.video_id or named
        return found
    out: list[mf.Candidate] = []
    seen: set[tuple[int, int]] = set()
    try:
        for folder, dirs, files in os.walk(source.path, followlinks=True):
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:  # a folder link back to a folder already walked (a loop)
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in sorted(files):
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS:
                    out.append(mf.Candidate(Path(folder) / f, "images"))
    except OSError as exc:
        raise AffcurateError(f"{exc.filename or source.path}: cannot read ({exc.strerror or exc})") from None
    if not out:
        raise AffcurateError(f"{source.path}: no images found (expected {', '.join(sorted(IMAGE_EXTENSIONS))})")
    return out


def plan(source: Source, candidates: list[mf.Candidate], images: pd.DataFrame, subject_from: str | None,
         label_from_folder: bool, shard_size: int = SHARD_SIZE) -> pd.DataFrame:
    """``images`` with the candidates added (new ones in new shards of the set) or updated (subject, label)."""
    if shard_size < 1:
        raise AffcurateError(f"--shard-size {shard_size}: expected at least 1 image per shard")
    known = images.set_index("image_id", drop=False)
    _path_rules(candidates, None if source.is_list else str(source.path), subject_from, label_from_folder)
    _assign_ids(candidates, dict(zip(known["path"].astype(str), known["image_id"].astype(str), strict=True)))
    fresh, seen = [], set()
    updates: dict[str, dict[str, str]] = {"subject": {}, "label": {}, "source": {}}
    for c in candidates:
        vid = str(c.video_id)
        if vid in seen:
            continue  # one path listed twice is one image
        seen.add(vid)
        if vid in known.index:
            for col, v in (("subject", c.subject), ("label", c.label), ("source", c.source)):
                if v is not None:
                    updates[col][vid] = v
            continue
        fresh.append({"image_id": vid, "set": source.name, "path": str(c.path), "subject": c.subject,
                      "label": c.label, "source": c.source or source.name,
                      "meta": json.dumps(c.meta, sort_keys=True) if c.meta else None, "status": "pending"})
    for col, values in updates.items():  # what a list now says of images already in the set
        if values:
            new = known["image_id"].map(values)
            known[col] = new.astype(object).where(new.notna(), known[col].astype(object))
    if not fresh:
        return typed(known.reset_index(drop=True))
    ours = known[known["set"] == source.name]
    start = 0 if ours.empty else max(_number(s) for s in ours["shard"].astype(str)) + 1
    for k, row in enumerate(fresh):
        row["shard"] = f"{source.name}-{start + k // shard_size:05d}"
        row["index"] = k % shard_size
    for s in {r["shard"] for r in fresh}:
        check_name(s, "shard id", "--set")
    return typed(pd.concat([known.reset_index(drop=True).astype(object), pd.DataFrame(fresh).astype(object)],
                           ignore_index=True))


def _path_rules(candidates: list[mf.Candidate], root: str | None, subject_from: str | None,
                label_from_folder: bool) -> None:
    """``--subject-from`` and ``--label-from-folder`` as for videos (:func:`affcurate.media.manifest.apply_path_rules`),
    on path strings: a list of 450,000 images is done in a second."""
    mf.apply_path_rules([], None, subject_from, False)  # the regex's checks and messages are the media stage's
    rx = re.compile(subject_from) if subject_from else None
    for c in candidates:
        text = str(c.path)
        rel = text[len(root) + 1:] if root and text.startswith(root + os.sep) else text
        if rx is not None and c.subject is None:
            m = rx.search(rel)
            if m and m.group("subject"):
                c.subject = m.group("subject")
        if label_from_folder and c.label is None:
            c.label = os.path.basename(os.path.dirname(text))


def _assign_ids(candidates: list[mf.Candidate], by_path: dict[str, str]) -> None:
    """A unique, safe image id for every candidate: the one it has (an image already in the workspace keeps its
    id), the list's, else its file name's stem, with parent folders put before it while another image has it."""
    used = {v: p for p, v in by_path.items()}
    for c in candidates:
        c.path = Path(os.path.abspath(c.path))  # no resolving of links: one system call less per image
        key = str(c.path)
        if c.video_id:
            owner = used.get(c.video_id)
            if owner is not None and owner != key:
                where = f"line {c.line}" if c.line else key
                raise AffcurateError(f"image id {c.video_id!r} ({where}) is already used by {owner}")
        elif key in by_path:
            c.video_id = by_path[key]
        else:
            base = safe_name(c.path.stem, "image")
            parents = list(c.path.parent.parts[::-1]) if base in used else []
            while base in used and parents:
                base = safe_name(f"{parents.pop(0)}_{base}", "image")
            vid, n = base, 2
            while vid in used:
                vid, n = f"{base}_{n}", n + 1
            c.video_id = vid
        used[c.video_id] = key
        by_path[key] = c.video_id


def _number(shard: str) -> int:
    tail = shard.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1
