"""`affcurate status WS`: where a workspace stands, on one screen (or as JSON for scripts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from affcurate.state import STATES, status
from affcurate.state.images import line as images_line

console = Console()

STYLE = {"done": "green", "stale": "yellow", "failed": "red", "missing": "bold"}
TITLE = {"ingest": "ingest (media)", "images": "ingest (images)", "import": "import (annotations)"}


def status_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the same as JSON, for scripts."),
) -> None:
    """Where the workspace stands: what is done, stale, failed or missing, and what to run next.

    Per stage the counts of done, stale, failed and missing; the failed videos and images with their errors.

    The labelled samples per annotator and task, and the next command. Writes nothing, takes no lock.

    --json: workspace, version, videos, images, stages, failed, labelled, next (see affcurate.state.status).
    """
    result = status(workspace, shown_as=str(workspace))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    render(result)


def _videos_line(v: dict[str, int]) -> str:
    if not v.get("total"):
        return "no videos in the manifest yet"
    return (f"{v['total']} videos in the manifest: {v['ok']} ok, {v['error']} failed, {v['duplicate']} duplicates, "
            f"{v['pending']} not transcoded")


def render(result: dict[str, Any]) -> None:
    console.print(Text(f"workspace {result['workspace']} (affcurate {result['version']})", style="bold"))
    console.print(_videos_line(result["videos"]), markup=False, highlight=False)
    if images_line(result.get("images") or {}):
        console.print(images_line(result["images"]), markup=False, highlight=False)
    table = Table(title="stages", title_justify="left")
    for col in ("stage", "state", "done", "stale", "failed", "missing", "of"):
        table.add_column(col, justify="right" if col in STATES else "left", no_wrap=True)
    for name, s in result["stages"].items():
        table.add_row(escape(TITLE.get(name, name)), Text(s["state"], style=STYLE[s["state"]]),
                      *(str(s[k]) for k in STATES), escape(s["unit"]))
    console.print(table)
    for name, s in result["stages"].items():  # why, under the table: it stays readable on a narrow terminal
        for why in s["why"]:
            console.print(Text.assemble((f"{name}: ", STYLE[s["state"]]), why))
    if result["failed"]:
        failed = Table(title="failed", title_justify="left")
        for col in ("stage", "video, image or file", "error"):
            failed.add_column(col)
        for f in result["failed"]:
            failed.add_row(escape(f["stage"]), escape(str(f["id"])), escape(f["error"] or ""))
        console.print(failed)
    if result["labelled"]:
        lab = Table(title="labelled samples per annotator and task", title_justify="left")
        for col in ("annotator", "task", "videos", "labelled", "rows", "a row is"):
            lab.add_column(col, justify="right" if col in ("videos", "labelled", "rows") else "left")
        for r in result["labelled"]:
            lab.add_row(escape(r["annotator"]), escape(r["task"]), str(r["videos"]), str(r["labelled"]),
                        str(r["rows"]), escape(r["unit"]))
        console.print(lab)
        console.print("labelled: rows with at least one value, each table in its own time base (frames: of the "
                      "workspace's constant-fps video); `affcurate merge` puts them on the grid", markup=False, highlight=False)
    step = result["next"]
    if step is None:
        console.print("[green]every stage is done[/]")
    else:
        console.print(Text.assemble(("next: ", "bold"), (step["command"], "bold cyan")))
        console.print(f"  ({step['why']})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
