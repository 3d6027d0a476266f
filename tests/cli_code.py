"""The command line's exit code, run in this process as a user runs it (``from cli_code import exit_code``)."""

from __future__ import annotations

from affcurate.cli import main


def exit_code(argv: list[str]) -> int:
    """Exit code of ``affcurate ARGV`` (the command returns without SystemExit when all went well)."""
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0
