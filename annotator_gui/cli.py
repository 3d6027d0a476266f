"""`affcurate annotate`: registered with the affcurate command line through its entry point."""

from __future__ import annotations

from pathlib import Path

import typer

from affcurate.errors import AffcurateError
from affcurate.labels.model import TASKS, check_annotator_name


def annotate_command(
    workspace: Path = typer.Argument(..., help="An ingested workspace."),
    annotator: str = typer.Option(..., "--annotator", "-a", help="Your name: your labels go to annotations/NAME/."),
    video: str | None = typer.Option(None, "--video", help="Start on this video id (with --queue: only its items)."),
    task: str | None = typer.Option(None, "--task",
                                    help="Start in this mode: au (default), expr or va (with --queue: only its items)."),
    queue: str | None = typer.Option(None, "--queue",
                                     help="Review a queue, item by item (N next, Shift+N previous): disagreements "
                                          "(where annotators disagree most, from the last merge) or uncertain "
                                          "(where the model's pre-labels are least sure)."),
    joystick: str = typer.Option("auto", "--joystick",
                                 help="A joystick for the VA pad: auto (the first /dev/input/js*), a device, or off."),
) -> None:
    """Open the annotation desk (AUs, expressions, continuous valence-arousal) on a workspace."""
    check_annotator_name(annotator)
    if task is not None and task not in TASKS:
        raise AffcurateError(f"--task {task!r}: expected one of {', '.join(TASKS)}")
    from affcurate.workspace import Workspace
    from annotator_gui.queue import open_queue
    from annotator_gui.scheme import Scheme

    ws = Workspace.open(workspace)  # every input read and checked before Qt starts
    Scheme.of(ws)
    review = open_queue(ws, queue, annotator, video=video, task=task) if queue is not None else None
    try:
        import PySide6  # noqa: F401
    except ImportError:
        raise AffcurateError("the annotation desk needs Qt: pip install 'affcurate[desk]'") from None
    from annotator_gui.app import run
    from annotator_gui.display import check_display

    check_display()
    raise typer.Exit(run(workspace, annotator, video, task or "au", joystick, queue=review))


def register(app: typer.Typer) -> None:
    app.command("annotate")(annotate_command)
