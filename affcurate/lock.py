"""One writer per workspace: a lock file naming its holder, and the clean-up of stale temporary files.

Writing commands (ingest, faces, import, merge, split, report, train, run) hold the lock for their whole run; a
second writer is refused with one line naming the holder. The lock is re-entrant inside one process, so a recipe
that calls the stages in order holds it once. The desk keeps its own per-video lock and does not take this one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from affcurate.errors import AffcurateError

LOCK_NAME = "writer.lock"
# temporary files are named `.<final name>.~<pid>~<random><suffix>` (see affcurate.io.atomic_path)
TEMP_RE = re.compile(r"^\..+\.~(\d+)~[^/]*$")

_held: dict[Path, tuple[int, int]] = {}  # workspace root -> (fd, depth) for the locks this process holds


class WorkspaceBusyError(AffcurateError):
    """Another command is writing the workspace."""


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` running on this host (ours counts)?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> str:
    info: dict[str, Any] = {}
    for _ in range(20):  # the holder writes its name just after it takes the lock: give it a moment
        try:
            info = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            info = {}
        if info:
            break
        time.sleep(0.05)
    if not info:
        return "another affcurate command"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f"`{info.get('command', '?')}` (pid {info.get('pid', '?')} on {info.get('host', '?')}, since {since})"


def clean_stale_temporaries(root: Path) -> list[Path]:
    """Remove temporary files left by killed writers (their pid is gone); return what was removed."""
    removed = []
    for dirpath, _dirs, files in os.walk(root, onerror=lambda _e: None):
        for name in files:
            m = TEMP_RE.match(name)
            if m and not pid_alive(int(m.group(1))):
                p = Path(dirpath) / name
                try:
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass
    return removed


@contextmanager
def writer_lock(root: str | Path, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the workspace's writer lock for the block; refuse (or wait up to ``wait`` seconds) if taken."""
    root = Path(root).resolve()
    if root in _held:
        fd, depth = _held[root]
        _held[root] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[root]
            _held[root] = (fd, depth - 1)
        return
    state = root / ".affcurate"
    try:
        state.mkdir(parents=True, exist_ok=True)
        path = state / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise AffcurateError(f"{root}: cannot write the workspace ({exc.strerror})") from None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise WorkspaceBusyError(
                    f"{root}: the workspace is being written by {_holder(path)}; "
                    "wait for it to finish (or stop it) and run this again") from None
            time.sleep(0.2)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    _held[root] = (fd, 1)
    try:
        clean_stale_temporaries(root)
        yield
    finally:
        del _held[root]
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


F = TypeVar("F", bound=Callable[..., Any])


def writes_workspace(command: str) -> Callable[[F], F]:
    """Decorate a stage function whose first argument is a Workspace: it runs holding the writer lock."""
    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(ws: Any, *args: Any, **kwargs: Any) -> Any:
            with writer_lock(ws.root, command):
                return fn(ws, *args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return deco
