"""The ``affcurate`` command line: thin commands that parse, call one library function, and render with rich.

Command modules live in :mod:`affcurate.commands`; each registers its own commands here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from importlib.metadata import entry_points

import typer
from rich.console import Console

import affcurate.commands
from affcurate.errors import AffcurateError

app = typer.Typer(
    name="affcurate",
    help="Curate facial-affect datasets: ingest videos, annotate, merge labels, split, report and train baselines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(affcurate.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"affcurate.commands.{mod.name}")
        module.register(app)
    # installed packages that add commands (the annotation desk registers `annotate` this way)
    for ep in sorted(entry_points(group="affcurate.commands"), key=lambda e: e.name):
        ep.load()(app)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user-fixable errors become one line on stderr and exit code 2."""
    try:
        rc = app(args=argv, standalone_mode=False)
    except AffcurateError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted; finished videos are kept, run the command again to resume")
        sys.exit(130)
    except Exception as exc:
        # usage errors (Typer's bundled click) carry their own message and exit code
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise
    if isinstance(rc, int) and rc:
        sys.exit(rc)
