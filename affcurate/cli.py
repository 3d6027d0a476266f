"""The ``affcurate`` command line: thin commands that parse, call one library function, and render with rich.

Command modules live in :mod:`affcurate.commands`; each registers its own commands here. Progress that the
library reports without being handed a callback is drawn as bars (:class:`affcurate.commands._progress.Bars`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from importlib.metadata import entry_points

import typer
from rich.console import Console
from rich.markup import escape

import affcurate.commands
from affcurate.commands._progress import Bars
from affcurate.errors import AffcurateError
from affcurate.executor import reporting

app = typer.Typer(
    name="affcurate",
    help="Curate facial-affect datasets: ingest videos, annotate, merge labels, split, report and train baselines.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from affcurate import __version__

        typer.echo(f"affcurate {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", help="Print affcurate's version and exit.",
                                 callback=_print_version, is_eager=True),
) -> None:
    """Options of affcurate itself, given before the command."""


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(affcurate.commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):  # helpers of the commands, not commands
            continue
        module = importlib.import_module(f"affcurate.commands.{mod.name}")
        module.register(app)
    # installed packages that add commands (the annotation desk registers `annotate` this way)
    for ep in sorted(entry_points(group="affcurate.commands"), key=lambda e: e.name):
        ep.load()(app)


_register_commands()


def _run(argv: list[str] | None) -> object:
    bars = Bars()
    try:
        with reporting(bars):
            return app(args=argv, standalone_mode=False)
    finally:
        bars.close()  # before any error line, so that it is not drawn over


def one_line(exc: BaseException) -> str:
    """The error as one line of plain text (rich markup in it is escaped, so `[settings]` stays)."""
    return escape(" ".join(str(exc).splitlines()).strip())


def main(argv: list[str] | None = None) -> None:
    """Entry point: user-fixable errors become one line on stderr and exit code 2."""
    try:
        rc = _run(argv)
    except AffcurateError as exc:
        err_console.print(f"[bold red]error:[/] {one_line(exc)}", highlight=False, soft_wrap=True)
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
