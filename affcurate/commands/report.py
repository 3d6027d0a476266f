"""`affcurate report`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from affcurate.workspace import Workspace

console = Console()


def report_command(workspace: Path = typer.Argument(..., help="Workspace folder.")) -> None:
    """Write reports/report.html (self-contained, with plots), reports/report.md and reports/datacard.md."""
    from affcurate.reporting import report  # matplotlib loads only for this command

    paths = report(Workspace.open(workspace))
    console.print(f"report: {paths.html}\nmarkdown: {paths.markdown}\ndatacard: {paths.datacard}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
