"""The command line run in this process as a user runs it: its exit code, or its one-line error
(``from cli_code import exit_code, one_line_error``)."""

from __future__ import annotations

import pytest

from affcurate.cli import main


def exit_code(argv: list[str]) -> int:
    """Exit code of ``affcurate ARGV`` (the command returns without SystemExit when all went well)."""
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def one_line_error(capsys: pytest.CaptureFixture, *args: str) -> str:
    """The one line ``affcurate ARGS`` prints on stderr when it refuses (exit code 2, no traceback)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]
