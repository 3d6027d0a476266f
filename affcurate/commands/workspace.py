"""`affcurate init` (`affcurate status` is in :mod:`affcurate.commands.status`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from affcurate.workspace import Workspace

console = Console()


def init(
    workspace: Path = typer.Argument(..., help="Folder of the new workspace (created if missing)."),
) -> None:
    """Create a workspace: a folder with affcurate.toml holding the documented default settings."""
    ws = Workspace.init(workspace)
    console.print(f"workspace ready: {ws.root} (settings in {ws.settings_path.name})", markup=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
