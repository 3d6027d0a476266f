"""Reading helpers shared by the format modules: text that must be UTF-8, delimited tables with the line of
every row, numbers and frame numbers refused with ``file:line`` when they are not what the format says."""

from __future__ import annotations

import csv
import io as _io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affcurate.errors import InputError
from affcurate.labels.model import MAX_POSITION

_AU = re.compile(r"AU(\d{1,3})(?:_[rc])?", re.ASCII)
# the image files ingest reads as a clip's frames
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


def shown(value: object, limit: int = 60) -> str:
    """The repr of a value from a user's file, cut to ``limit`` characters so that an error stays readable."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_text(path: Path) -> str:
    """The file as text; a file that is not UTF-8 (latin-1, UTF-16, binary) is refused at its first bad line."""
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(path, "is UTF-16 text, expected UTF-8 (save it again as UTF-8)", 1)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"byte 0x{raw[exc.start]:02x} is not UTF-8 text, expected a UTF-8 file "
                               "(save it again as UTF-8)", line) from None


def read_json(path: Path) -> Any:
    """A JSON document, refused with its line when it is not valid JSON."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply to be a label file") from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise InputError(path, f"not valid JSON ({str(exc).splitlines()[0][:80]})") from None


def read_table(path: Path, sep: str = ",", header: bool = True, strip: bool = True,
               names: list[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A delimited text file as strings with, for each row, its line number; a row with the wrong number of
    fields, a repeated column name and a file without data rows are refused with ``file:line``."""
    text = read_text(path)
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=sep)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for r in reader:
            rows.append((start, r))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(path, f"not a {sep!r}-separated table ({exc})", reader.line_num or 1) from None
    if not rows:
        raise InputError(path, "empty file, expected a header line" if header else "empty file", 1)
    if header:
        cols = [c.strip() if strip else c for c in rows[0][1]]
        if not any(c.strip() for c in cols):
            raise InputError(path, "the first line is empty, expected a header line", 1)
        body = rows[1:]
        seen: set[str] = set()
        for c in cols:
            if c in seen:
                raise InputError(path, f"column {shown(c)} appears twice in the header, expected each once", 1)
            seen.add(c)
    else:
        cols = names or [str(i) for i in range(len(rows[0][1]))]
        body = rows
    lines, keep = [], []
    for i, r in body:
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) != len(cols):
            raise InputError(path, f"{len(r)} fields, expected {len(cols)} ({shown(sep.join(cols), 80)})", i)
        keep.append([c.strip() for c in r] if strip else r)
        lines.append(i)
    if not keep:
        raise InputError(path, "no rows after the header, expected one line per labelled frame" if header
                         else "no rows, expected one line per labelled frame", 2 if header else 1)
    return pd.DataFrame(keep, columns=cols), np.asarray(lines, dtype=np.int64)


def to_number(df: pd.DataFrame, col: str, path: Path, lines: np.ndarray) -> pd.Series:
    """A column as floats: empty or ``nan`` is missing; text and ±inf are refused at their line."""
    raw = df[col].astype(str).str.strip()
    v = pd.to_numeric(raw.where(raw.ne("")), errors="coerce").astype(np.float64)
    bad = (v.isna() & raw.ne("") & raw.str.lower().ne("nan")) | np.isinf(v)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = "is not a finite number" if np.isinf(v.iloc[i]) else "is not a number"
        raise InputError(path, f"{col} = {shown(df[col].iloc[i])} {what}", int(lines[i]))
    return v


def to_frame(df: pd.DataFrame, col: str, path: Path, lines: np.ndarray, first: int = 0) -> pd.Series:
    """A frame-number column (numbered from ``first``) as 0-based int64; a missing, fractional, negative or
    absurdly large frame is refused at its line."""
    v = to_number(df, col, path, lines)
    checks = ((v.isna(), "is missing, expected a frame number"),
              (v.notna() & (v != np.round(v)), "is not a whole frame number"),
              (v < first, f"is below {first}, expected frames numbered from {first}"),
              (v - first > MAX_POSITION, "is too large for a frame number"))
    for bad, what in checks:
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, f"{col} {shown(df[col].iloc[i])} {what}", int(lines[i]))
    return (v - first).astype(np.int64)


def parse_int(value: object, what: str, path: Path, line: int | None, first: int = 0) -> int:
    """One frame number given as text or JSON (not a bool, a float with a fraction, or out of range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(path, f"{what} {shown(value)} is not a frame number", line)
    try:
        x = float(value) if isinstance(value, (str, float)) else value
        ok = x == x and abs(x) != float("inf") and x == int(x)
    except (ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(path, f"{what} {shown(value)} is not a whole frame number", line)
    n = int(x)
    if n < first or n - first > MAX_POSITION:
        raise InputError(path, f"{what} {shown(value)} is outside {first}-{MAX_POSITION}", line)
    return n


def au_from_openface_name(name: str) -> str | None:
    """``AU01_c`` / ``AU01_r`` / ``AU01`` → ``AU1``; None for a column that is not an AU."""
    m = _AU.fullmatch(name)
    return f"AU{int(m.group(1))}" if m else None


def natural_order(name: str) -> list[Any]:
    """Sort key of natural order (00002 before 00010): ASCII digit runs compare as numbers, by their length
    without leading zeros and then their digits (int() of a run of thousands of digits raises)."""
    parts = re.split(r"([0-9]+)", name)
    return [(len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p.lower() for i, p in enumerate(parts)]


def numbered_images(folder: Path) -> list[Path]:
    """The image files of a folder whose names hold a number, in natural order: a clip's frames."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
             and re.search(r"[0-9]", p.stem)]
    return sorted(files, key=lambda p: natural_order(p.name))


def segments(frames: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive frames as (first, last), inclusive."""
    if len(frames) == 0:
        return []
    frames = np.unique(frames)
    breaks = np.flatnonzero(np.diff(frames) > 1)
    starts = np.r_[frames[0], frames[breaks + 1]]
    ends = np.r_[frames[breaks], frames[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
