"""Checkpoints and the per-epoch log of a run, written whole or not at all, and read back with one clear
line when a file is damaged (a kill of an older version, a full disk, a file copied in half)."""

from __future__ import annotations

import io as _bytes
import json
import warnings
from pathlib import Path
from typing import Any

import torch

from affcurate import io


class DamagedFile(Exception):
    """A file of the run that cannot be read back; ``str()`` is the one line shown to the user."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path} is damaged ({reason})")


def save(obj: Any, path: Path) -> None:
    """``torch.save`` to memory, then an atomic write: a kill leaves the previous checkpoint or this one."""
    buf = _bytes.BytesIO()
    torch.save(obj, buf)
    io.write_bytes(path, buf.getvalue())


def load(path: Path) -> Any:
    """Read a checkpoint of tensors, or raise :class:`DamagedFile` saying what is wrong with it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DamagedFile(path, exc.strerror or "cannot be read") from None
    if size == 0:
        raise DamagedFile(path, "empty file")
    try:
        with warnings.catch_warnings():  # torch's note on pickle protocols says nothing to a user
            warnings.simplefilter("ignore")
            return torch.load(path, weights_only=True)
    # torch reports a damaged file as any of EOFError, RuntimeError, UnpicklingError, KeyError or OSError
    except Exception as exc:
        raise DamagedFile(path, f"not a readable checkpoint: {type(exc).__name__}") from None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object the run wrote (metrics, config, benchmark), or :class:`DamagedFile`."""
    try:
        obj = io.read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DamagedFile(path, f"not readable JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise DamagedFile(path, f"a JSON {type(obj).__name__} where an object was expected")
    return obj


class EpochLog:
    """``log.jsonl``: one JSON row per epoch, rewritten atomically on each row. A row for epoch ``e`` drops
    the rows of epoch ``e`` and later, so an epoch done again after a kill (or a restart) is logged once."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # half a line written by an older version that appended: that epoch is done again
                if isinstance(row, dict) and isinstance(row.get("epoch"), int):
                    self.rows.append(row)

    def __call__(self, **row: Any) -> None:
        epoch = int(row["epoch"])
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        io.write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.rows))
