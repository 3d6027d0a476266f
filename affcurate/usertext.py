"""Reading a text or TOML file a user wrote: one error with the file and line, and the line of a value."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import tomllib

from affcurate.errors import AffcurateError, InputError

_TOML_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def read_text(path: Path, what: str) -> str:
    """A text file a user wrote (a BOM is allowed); unreadable or not UTF-8 is one error, with the line.
    A missing file raises FileNotFoundError for the caller to explain."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise AffcurateError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = f"0x{raw[exc.start]:02x}"
        raise InputError(path, f"byte {byte} is not UTF-8; expected a UTF-8 text file", line) from None


def read_toml(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; unreadable, not UTF-8 or not TOML is one :class:`InputError` with the line."""
    text = read_text(path, what)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_AT.search(str(exc))
        line = int(m.group(1)) if m and m.group(1) else max(1, len(text.splitlines()))
        raise InputError(path, f"not valid TOML: {_TOML_AT.sub('', str(exc))}", line) from None


def _unquote(key: str) -> list[str]:
    return [k.strip().strip("\"'") for k in key.split(".")]


def toml_line(text: str | None, keys: list[Any]) -> int | None:
    """The line of ``text`` that sets the value at ``keys`` (e.g. ``["ingest", "fps"]`` or ``["import",
    "sources", 1, "annotator"]``), as far as a plain reading of the TOML can tell; None if not found."""
    names = [str(k) for k in keys if not isinstance(k, int)]
    if not text or not names:
        return None
    nth = next((k for k in reversed(keys) if isinstance(k, int)), 0)
    inline = re.compile(rf"(?<![\w\-]){re.escape(names[-1])}\s*=")
    header: list[str] = []
    best, depth, seen = None, 0, 0
    for i, line in enumerate(text.splitlines(), start=1):
        h = _HEADER.match(line)
        k = None if h else _KEY.match(line)
        if h:
            header = _unquote(h.group(1))
            if best is not None and header != names[: len(header)]:
                break  # past the part of the file that holds the value
        full = header if h else (header + _unquote(k.group(1)) if k else None)
        if full and full == names[: len(full)] and len(full) > depth:
            best, depth = i, len(full)
            if depth == len(names):
                return i
        # keys inside inline tables (an array of them across lines): the nth mention of the last key
        for _ in () if best is None or h else inline.finditer(line):
            if seen == nth:
                return i
            seen += 1
    return best


def first_non_finite(data: Any, where: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], float] | None:
    """The first NaN or infinite number in a parsed TOML document (JSON Schema bounds let both through)."""
    if isinstance(data, float) and not math.isfinite(data):
        return where, data
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        found = first_non_finite(v, (*where, k))
        if found:
            return found
    return None


def dotted(keys: Any) -> str:
    return ".".join(str(p) for p in keys) or "(top level)"


def schema_error(schema: dict[str, Any], data: Any, source: str | Path, text: str | None, what: str,
                 prefix: tuple[str, ...] = ()) -> InputError | None:
    """The first problem of ``data`` against ``schema`` (a NaN/inf number included) as one line, or None."""
    bad = first_non_finite(data)
    if bad:
        keys = [*prefix, *bad[0]]
        return InputError(source, f"invalid {what} {dotted(keys)}: {bad[1]} is not a finite number",
                          toml_line(text, keys))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    err = errors[0]
    where = [*prefix, *err.absolute_path]
    line_keys, msg = where, err.message
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(err.schema.get("properties", {}))
        line_keys = [*where, *sorted(set(err.instance) - set(allowed))[:1]]  # the line of the unexpected key
        msg += f"; allowed keys: {', '.join(allowed) or 'none'}"
    elif err.validator == "minItems" and err.instance == []:
        msg = f"the list is empty; expected at least {err.validator_value} item(s)"
    return InputError(source, f"invalid {what} {dotted(where)}: {msg}", toml_line(text, line_keys))
