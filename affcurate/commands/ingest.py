"""`affcurate ingest`: sources → manifest → 30 fps videos and frame maps, then faces (see affcurate.flow)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from affcurate.executor import ExecutorSpec
from affcurate.flow import IngestResult, ingest
from affcurate.lock import writer_lock
from affcurate.workspace import Workspace

console = Console()


def ingest_command(
    workspace: Path = typer.Argument(..., help="Workspace folder (created with default settings if missing)."),
    videos: Path | None = typer.Option(None, "--videos", help="Folder searched recursively for videos and "
                                       "folders of numbered images."),
    list_csv: Path | None = typer.Option(None, "--list", help="CSV with a 'path' column; optional video_id, "
                                         "subject, label, source, target_track; other columns kept as metadata."),
    subject_from: str | None = typer.Option(None, "--subject-from", help="Regex with a named group 'subject' "
                                            "applied to each path, e.g. '(?P<subject>[^/]+)/'."),
    label_from_folder: bool = typer.Option(False, "--label-from-folder", help="Take each video's label from its "
                                           "parent folder's name."),
    image_fps: float | None = typer.Option(None, "--image-fps", help="Frame rate of image folders "
                                           "(default: the workspace fps)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Videos processed in parallel."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (with --executor ray)."),
    faces: bool = typer.Option(True, "--faces/--no-faces", help="Run the faces stage after transcoding."),
) -> None:
    """Probe, transcode to constant fps with frame maps, and find the subject's face in every video."""
    # held from before the workspace is made, so two ingests started at once never both write it
    with writer_lock(workspace, "affcurate ingest"):
        ws = Workspace.init(workspace)
        spec = ExecutorSpec(executor, jobs or ws.settings.ingest.jobs, address)
        result = ingest(ws, videos, list_csv, subject_from=subject_from, label_from_folder=label_from_folder,
                        image_fps=image_fps, spec=spec, faces=faces)
    render_summary(result)
    if result.n_failed:
        raise typer.Exit(1)


def _text(value: object) -> str:
    """A table cell: empty for a missing value, and escaped so that `[brackets]` in a message survive rich."""
    return "" if value is None or value != value else escape(str(value))


def render_summary(result: IngestResult) -> None:
    s = result.summary
    table = Table(title="ingest", show_lines=False)
    for col in ("video", "status", "frames", "seconds", "faces", "error"):
        table.add_column(col)
    for r, failed in zip(s.to_dict("records"), result.failed, strict=True):
        status = r["status"] + (" (done before)" if r.get("skipped") else "")
        style = "red" if failed else {"ok": "green", "duplicate": "yellow"}.get(r["status"], "")
        err = _text(r.get("error")) or _text(r.get("faces_error"))
        frames = "" if r["out_frames"] is None or r["out_frames"] != r["out_frames"] else str(int(r["out_frames"]))
        secs = "" if r["seconds"] is None or r["seconds"] != r["seconds"] else f"{r['seconds']:.1f}"
        table.add_row(_text(r["video_id"]), Text(status, style=style), frames, secs,
                      _text(r.get("faces_status")), err)
    console.print(table)
    for reason in result.skipped:
        console.print(f"skipped {reason}", markup=False, highlight=False, soft_wrap=True)
    n = len(s)
    ok = int(((s["status"] == "ok") & ~result.failed).sum())
    dup = int((s["status"] == "duplicate").sum())
    console.print(f"{ok} of {n} videos ready, {dup} duplicates, {result.n_failed} failed")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
