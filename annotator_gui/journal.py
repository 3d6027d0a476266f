"""The desk's journal: every edit appended as one JSON line as it is made, so a crash loses at most the last second.

``.affcurate/desk/<annotator>/<video>.jsonl`` holds a header line and then one line per edit in the order they
were made; replaying it on the last saved tables gives the state of the moment the desk stopped, whether or not
the save before the crash finished. Beside it, a lock file names the process that holds the video open.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from affcurate.errors import AffcurateError, InputError
from affcurate.lock import pid_alive
from affcurate.workspace import Workspace

JOURNAL_VERSION = 1
FSYNC_EVERY = 1.0



def json_lines(path: Path, what: str) -> list[tuple[int, Any]]:
    """(line number, value) of each line of an append-only JSON-lines file. The last line is left out when it
    is not JSON and has no newline (the line being written when the desk died); any other line that is not JSON
    is an error naming ``what`` the file should be."""
    raw = path.read_bytes().split(b"\n")
    out = []
    for i, line in enumerate(raw):
        if not line.strip():
            continue
        try:
            out.append((i + 1, json.loads(line)))
        except ValueError:
            if i == len(raw) - 1:
                break
            raise InputError(path, f"is not {what}: a line is not JSON", i + 1) from None
    return out

class Journal:
    """Append-only log of edits, one JSON line each; flushed to the OS at once, fsynced at least every second."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.header = header
        self._fh: Any = None
        self._last_sync = 0.0

    @staticmethod
    def read(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The header and the edits of a journal; a last line cut short by a crash is ignored."""
        if not path.exists():
            return None, []
        header, ops = None, []
        for line, rec in json_lines(path, "a desk journal"):
            if header is None:
                if not isinstance(rec, dict) or rec.get("affcurate_journal") != JOURNAL_VERSION:
                    raise InputError(path, f"is not a desk journal (expected version {JOURNAL_VERSION})", line)
                header = rec
            else:
                ops.append(rec)
        return header, ops

    def _open(self) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            self._fh = open(self.path, "a", encoding="utf-8")
            if fresh:
                self._fh.write(json.dumps(self.header) + "\n")

    def append(self, op: dict[str, Any]) -> None:
        self._open()
        self._fh.write(json.dumps(op, separators=(",", ":")) + "\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._last_sync = time.monotonic()

    def reset(self) -> None:
        """After a save: the tables hold everything, start an empty journal."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def journal_path(ws: Workspace, annotator: str, video_id: str) -> Path:
    return ws.state_dir / "desk" / annotator / f"{video_id}.jsonl"


def claim(path: Path, what: str) -> None:
    """Claim ``path`` for this process; refuse if a live process holds it, take it over from a dead one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            alive = pid > 0 and pid != os.getpid() and pid_alive(pid)
            if alive:
                raise AffcurateError(f"{what} is already open in another desk (process {pid}); "
                                     f"close that one first, or delete {path} if it is gone") from None
            path.unlink(missing_ok=True)
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return

