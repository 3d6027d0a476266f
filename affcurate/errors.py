"""The one error type a user can fix. The CLI prints it on one line, without a traceback, and exits 2."""

from __future__ import annotations

from pathlib import Path


class AffcurateError(Exception):
    """A problem the user can fix: bad settings, bad input files, a missing earlier stage."""

    exit_code = 2


class InputError(AffcurateError):
    """A file a user handed in is wrong: rendered as ``file:line: what is wrong, what was expected``."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class StageMissingError(AffcurateError):
    """A command needs the output of an earlier command that has not been run."""

    def __init__(self, what: str, command: str):
        super().__init__(f"{what} is missing: run `{command}` first")
