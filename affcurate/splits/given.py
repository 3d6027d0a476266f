"""Reading a given split: which videos a file (or a dataset's official layout) puts in which part.

Layouts:
- a CSV or Parquet table with ``video_id`` (or ``subject``) and ``split`` (train / val / test, in any common
  spelling: Train_Set, training, Validation_Set, valid, dev, Test_Set, …) or ``fold`` (an integer, or ``fold3``);
- ABAW's official lists: a folder with ``Train_Set/``, ``Validation_Set/`` (``Training_Set/`` in older editions)
  and maybe ``Test_Set/`` of ``<video>.txt`` label files (a task folder such as ``VA_Estimation_Challenge``), or
  the folder above the task folders (every task's lists, which must agree);
- AffectNet's ``training.csv`` and ``validation.csv`` (a folder holding them, or one of them): each image of
  ``subDirectory_filePath`` is found by the file names of the manifest's ``path``; training becomes train and
  validation becomes test (AffectNet's test set is not public, so its validation set is the test set, as in
  seed 002).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, InputError
from affcurate.workspace import safe_video_id

SPLITS = ("train", "val", "test")
SPELLINGS = {"train": "train", "training": "train", "trn": "train", "val": "val", "valid": "val",
             "validation": "val", "validate": "val", "dev": "val", "devel": "val", "development": "val",
             "test": "test", "testing": "test", "tst": "test"}
AFFECTNET = {"training.csv": "train", "validation.csv": "test"}
KEYS = ("video_id", "subject")


@dataclass
class Entry:
    """One row of the given split: the name it uses, the videos that name resolves to (none: unknown)."""

    name: str
    videos: list[str]
    part: str | int
    file: Path
    line: int | None
    row: int | None = None      # the row of a Parquet table (it has no lines)

    def error(self, message: str) -> InputError:
        """``file:line: message`` (``file: row N: message`` for a Parquet table)."""
        return InputError(self.file, f"row {self.row}: {message}" if self.row else message, self.line)


@dataclass
class Given:
    entries: list[Entry]
    noun: str                   # what a name is: video id, subject, image
    column: str                 # split or fold
    layout: str                 # csv, parquet, abaw, affectnet
    notes: list[str] = field(default_factory=list)


def part_name(value: object) -> str | None:
    """train / val / test for a common spelling of a split's name, else None."""
    v = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    return SPELLINGS.get(re.sub(r"_?set$", "", v))


def _fold(value: object) -> int | None:
    m = re.fullmatch(r"(?:fold[_ ]?)?(\d+)(?:\.0+)?", str(value).strip().lower())
    return int(m.group(1)) if m else None


class Names:
    """Video ids of the names a given split uses: ids, subjects, file stems and image file names."""

    def __init__(self, manifest: pd.DataFrame):
        self.ids = set(manifest["video_id"].astype(str))
        self.by_subject: dict[str, list[str]] = {}
        for vid, s in zip(manifest["video_id"].astype(str), manifest["subject"], strict=True):
            if isinstance(s, str):
                self.by_subject.setdefault(s, []).append(vid)
        self.by_name: dict[str, list[str]] = {}
        self.by_two: dict[str, list[str]] = {}
        self.by_stem: dict[tuple[str, str | None], list[str]] = {}
        sides = manifest["target_side"] if "target_side" in manifest.columns else [None] * len(manifest)
        for vid, p, side in zip(manifest["video_id"].astype(str), manifest["path"], sides, strict=True):
            if not isinstance(p, str):
                continue
            path = Path(p)
            self.by_name.setdefault(path.name, []).append(vid)
            self.by_two.setdefault(f"{path.parent.name}/{path.name}", []).append(vid)
            self.by_stem.setdefault((path.stem, side if isinstance(side, str) else None), []).append(vid)

    def video(self, name: str) -> list[str]:
        return [name] if name in self.ids else []

    def subject(self, name: str) -> list[str]:
        return list(self.by_subject.get(name, [])) or self.video(name.removeprefix("video:"))

    def stem(self, name: str) -> list[str]:
        """An ABAW file stem: the video id, else the source file of that stem (``NAME_left``: its left subject)."""
        if name in self.ids:
            return [name]
        m = re.fullmatch(r"(.+)_(left|right)", name)
        found = self.by_stem.get((m.group(1), m.group(2)), []) if m else []
        found = found or self.by_stem.get((name, None), [])
        return found if len(found) == 1 else []

    def image(self, name: str) -> list[str]:
        """An AffectNet ``subDirectory_filePath``: the manifest's source with that folder and name, else that
        name alone when only one source has it, else the video id the importer gives the image."""
        p = Path(name.replace("\\", "/"))
        for found in (self.by_two.get(f"{p.parent.name}/{p.name}", []), self.by_name.get(p.name, [])):
            if len(found) == 1:
                return found
        return self.video(safe_video_id(p.stem))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV file, the header first; the line is where the row starts."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            start = 1
            for row in reader:
                if any(c.strip() for c in row):
                    yield start, row
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from None


def _table(path: Path, names: Names) -> Given:
    """A CSV or Parquet table of video (or subject) → split or fold."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = io.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a readable Parquet file ({exc})") from None
        header = [str(c) for c in df.columns]
        rows = [(None, ["" if pd.isna(v) else str(v) for v in r]) for r in df.itertuples(index=False)]
        layout = "parquet"
    else:
        it = _csv_rows(path)
        _, header = next(it, (1, []))
        rows = [(line, cells) for line, cells in it]
        layout = "csv"
    cols = [c.strip().lower() for c in header]
    key = next((k for k in KEYS if k in cols), None)
    col = "split" if "split" in cols else "fold" if "fold" in cols else None
    if key is None or col is None:
        raise InputError(path, f"header {','.join(header)}: expected a video_id (or subject) column and a split "
                               "(or fold) column, e.g. video_id,split", 1 if layout == "csv" else None)
    ki, pi = cols.index(key), cols.index(col)
    resolve = names.video if key == "video_id" else names.subject
    entries = []
    for i, (line, cells) in enumerate(rows, start=1):
        where = line if layout == "csv" else None
        row = "" if layout == "csv" else f"row {i}: "
        name = cells[ki].strip() if ki < len(cells) else ""
        raw = cells[pi].strip() if pi < len(cells) else ""
        if not name:
            raise InputError(path, f"{row}empty {key}, expected a {key.replace('_', ' ')}", where)
        part = part_name(raw) if col == "split" else _fold(raw)
        if part is None:
            expected = "train, val or test (or e.g. Train_Set, validation, dev)" if col == "split" else \
                "a fold number such as 0 or fold0"
            raise InputError(path, f"{row}{col} {raw!r} of {name!r}: expected {expected}", where)
        entries.append(Entry(name, resolve(name), part, path, where, None if layout == "csv" else i))
    noun = "video id" if key == "video_id" else "subject"
    return Given(entries, noun, col, layout)


def _set_folders(folder: Path) -> list[tuple[Path, str]]:
    return sorted((p, part_name(p.name)) for p in folder.iterdir()
                  if p.is_dir() and p.name.lower().endswith("_set") and part_name(p.name))


def _abaw(folders: list[Path], names: Names) -> Given:
    """ABAW's lists: every ``<video>.txt`` of a set folder of each task folder."""
    entries: list[Entry] = []
    seen: dict[str, Entry] = {}
    for task in folders:
        for folder, part in _set_folders(task):
            for f in sorted(folder.glob("*.txt")):
                e = Entry(f.stem, names.stem(f.stem), part, f, None)
                first = seen.setdefault(f.stem, e)
                if first.part != part:
                    raise InputError(f, f"video {f.stem} is in {part} here but in {first.part} in {first.file}: "
                                        "the tasks' lists disagree; give one task's folder")
                if first is e:
                    entries.append(e)
    if not entries:
        raise AffcurateError(f"{folders[0]}: no <video>.txt label files in its Train_Set/Validation_Set folders")
    return Given(entries, "video", "split", "abaw")


def _affectnet(files: list[Path], names: Names) -> Given:
    entries = []
    for path in files:
        part = AFFECTNET[path.name.lower()]
        it = _csv_rows(path)
        _, header = next(it, (1, []))
        cols = [c.strip() for c in header]
        if "subDirectory_filePath" not in cols:
            raise InputError(path, f"header {','.join(header)}: expected AffectNet's subDirectory_filePath,face_x,"
                                   "…,expression,valence,arousal", 1)
        ci = cols.index("subDirectory_filePath")
        for line, cells in it:
            name = cells[ci].strip() if ci < len(cells) else ""
            if not name:
                raise InputError(path, "empty subDirectory_filePath, expected an image such as 689/abc.jpg", line)
            entries.append(Entry(name, names.image(name), part, path, line))
    notes = ["AffectNet: training.csv → train, validation.csv → test (its test set is not public)"]
    return Given(entries, "image", "split", "affectnet", notes)


def read_given(path: str | Path, manifest: pd.DataFrame) -> Given:
    """The entries of a given split in any of the layouts above, each resolved against the manifest."""
    path = Path(path)
    if not path.exists():
        raise AffcurateError(f"{path}: no such file or folder (expected a CSV or Parquet split, an ABAW folder "
                             "with Train_Set/Validation_Set, or AffectNet's training.csv/validation.csv)")
    names = Names(manifest)
    if path.is_file():
        if path.name.lower() in AFFECTNET and _is_affectnet(path):
            return _affectnet([path], names)
        if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise InputError(path, "expected a .csv or .parquet split file")
        return _table(path, names)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower() in AFFECTNET)
    if files:
        return _affectnet(files, names)
    if _set_folders(path):
        return _abaw([path], names)
    tasks = sorted(p for p in path.iterdir() if p.is_dir() and _set_folders(p))
    if tasks:
        return _abaw(tasks, names)
    raise AffcurateError(f"{path}: neither an ABAW folder (Train_Set/, Validation_Set/, or task folders holding "
                         "them) nor AffectNet's (training.csv, validation.csv)")


def _is_affectnet(path: Path) -> bool:
    first = next(_csv_rows(path), (1, []))[1]
    return "subDirectory_filePath" in [c.strip() for c in first]
