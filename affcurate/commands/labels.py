"""`affcurate import`, `affcurate export`, `affcurate formats` and `affcurate merge`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.executor import ExecutorSpec
from affcurate.labels.formats import export, formats, import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import check_annotator_name
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace

console = Console()


def import_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    paths: list[Path] = typer.Argument(..., help="Files or folders to import."),
    format: str = typer.Option(..., "--format", "-f", help="A format listed by `affcurate formats`."),
    annotator: str | None = typer.Option(None, "--annotator", help="Annotator name (default: the format's)."),
    task: str | None = typer.Option(None, "--task", help="Only this task: au, expr or va."),
    clock: str | None = typer.Option(None, "--clock", help="grid (frames of the 30 fps video) or source."),
    fps: float | None = typer.Option(None, "--fps", help="Frame rate of the files' frame numbers."),
    skip_unmatched: bool = typer.Option(False, "--skip-unmatched", help="Import what matches; list the rest."),
    only_workspace_aus: bool = typer.Option(False, "--only-workspace-aus",
                                            help="Leave out AUs not in labels.aus instead of refusing the file."),
) -> None:
    """Import labels from an external format; each file's video is matched to the workspace by id."""
    if annotator is not None:
        check_annotator_name(annotator, where="--annotator")
    ws = Workspace.open(workspace)
    report = import_files(ws, format, paths, annotator=annotator, task=task, clock=clock, fps=fps,
                          skip_unmatched=skip_unmatched, only_workspace_aus=only_workspace_aus)
    console.print(f"{len(report.written)} annotation tables written from {report.files} files")
    if report.unmatched:
        table = Table(title="not matched to a workspace video")
        table.add_column("video id")
        table.add_column("file")
        for vid, f in report.unmatched:
            table.add_row(escape(vid), escape(f))
        console.print(table)


def export_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    out: Path = typer.Argument(..., help="Output folder."),
    format: str = typer.Option(..., "--format", "-f", help="A format listed by `affcurate formats`, or hf: a "
                               "Hugging Face datasets folder of the aligned crops with their labels and splits."),
) -> None:
    """Export the merged labels in an external format, or (hf) the crops and labels as a datasets folder."""
    ws = Workspace.open(workspace)
    if format == "hf":  # crops, labels and splits together: not one of the label formats
        from affcurate.exports import export_hf

        r = export_hf(ws, out)
        rows = ", ".join(f"{split} {n}" for split, n in r.rows.items())
        console.print(f"{len(r.paths)} files written under {out}: frames per split {rows}", markup=False)
        if r.left_out:
            console.print("labelled frames left out: " + "; ".join(f"{n} {why}" for why, n in r.left_out.items()),
                          markup=False, style="yellow")
        return
    paths = export(ws, format, out)
    console.print(f"{len(paths)} files written under {out}", markup=False)
    if not paths:
        tasks = LabelTable.read(ws).tasks
        console.print(f"nothing to write: the {format} format carries none of the labels this workspace has "
                      f"({', '.join(tasks) or 'no labelled task'})", markup=False, style="yellow")


def formats_command() -> None:
    """List the label formats affcurate reads and writes."""
    table = Table(title="label formats")
    for c in ("name", "read", "write", "what"):
        table.add_column(c)
    for f in formats():
        table.add_row(escape(f.name), "yes", "yes" if f.write else "", escape(f.description))
    console.print(table)


def merge_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    keep: str = typer.Option("all", "--keep", help="all, labelled, or au-positive frames."),
    keep_no_face: bool = typer.Option(False, "--keep-no-face", help="Keep frames without the subject's face."),
    disagreements: int = typer.Option(0, "--disagreements", help="List the N segments annotators disagree on most."),
    jobs: int | None = typer.Option(None, "--jobs", help="Processes to spread the batches over (default: this "
                                    "one, a thread per core)."),
    machine: str = typer.Option("exclude", "--machine", help="Machine sources (OpenFace, py-feat, predictions): "
                                "exclude (default), fallback (only where no person labelled the task) or fuse."),
) -> None:
    """Merge every annotation onto the 30 fps grid, fuse annotators, and write labels.parquet."""
    ws = Workspace.open(workspace)
    r = merge(ws, keep=keep, drop_no_face=False if keep_no_face else None, disagreements=disagreements,
              spec=ExecutorSpec("local", jobs) if jobs else "auto", machine=machine)
    console.print(f"labels.parquet: {r.frames} frames of {r.videos} videos")
    for fix in r.length_fixes:
        console.print(f"[yellow]{escape(fix['video_id'])}[/] {escape(fix['task'])} ({escape(fix['annotator'])}): "
                      f"length differed by {fix['samples']:+d} samples, fixed")
    if len(r.filters) > 1:
        console.print("frames kept: " + " → ".join(f"{f['frames']} {f['step']}" for f in r.filters), markup=False)
    for lag in r.lags:
        if lag["frames"]:
            console.print(f"{lag['video_id']} va ({lag['annotator']}): reaction lag of {lag['frames']} frames "
                          "compensated", markup=False)
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {escape(str(w['message']))}")
    if r.unmatched:
        console.print(f"[yellow]annotations of videos not in the workspace:[/] {escape(', '.join(r.unmatched))}")
    if r.disagreements is not None and len(r.disagreements):
        t = Table(title="where annotators disagree most")
        for c in ("video_id", "task", "label", "start", "end", "score"):
            t.add_column(c)
        for row in r.disagreements.itertuples():
            t.add_row(escape(str(row.video_id)), escape(str(row.task)), escape(str(row.label)), str(row.start),
                      str(row.end), f"{row.score:.2f}")
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("formats")(formats_command)
    app.command("merge")(merge_command)
