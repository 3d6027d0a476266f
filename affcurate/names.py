"""The one check for every name that becomes a file or folder name: video ids, annotators, runs, sources."""

from __future__ import annotations

import re

from affcurate.errors import AffcurateError

# A letter or digit first, then letters, digits, _ . - ; never '..'. Checked by full match, so a trailing
# newline (which `^…$` lets through) is refused too.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
RULE = "1-128 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit, without '..'"


def is_safe_name(value: object) -> bool:
    """True when ``value`` can be used as one path component inside the workspace."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None and ".." not in value


def check_name(value: object, kind: str = "name", where: str | None = None) -> str:
    """Return ``value`` if it is a safe path component, else raise one clear line naming ``kind``.

    ``where`` (a file, ``file:line`` or an option such as ``--name``) is put in front of the message.
    """
    if is_safe_name(value):
        return value  # type: ignore[return-value]
    prefix = f"{where}: " if where else ""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else f"{shown[:57]}..."  # a huge value must not flood the error line
    raise AffcurateError(f"{prefix}invalid {kind} {shown}: expected {RULE}")


def safe_name(text: str, default: str = "video") -> str:
    """A valid name derived from free text (a file stem, a column value): odd characters become '_'."""
    stem = re.sub(r"[^A-Za-z0-9_.\-]+", "_", str(text)).strip("._-")
    stem = re.sub(r"\.{2,}", ".", stem)
    return (stem or default)[:120]
