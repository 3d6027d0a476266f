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
from affcurate.imagesets import read_given_faces
from affcurate.imagesets.sources import SHARD_SIZE, list_is_images
from affcurate.imagesets.stage import ImageSetResult, ingest_images
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
    images: Path | None = typer.Option(None, "--images", help="Still images, each a sample of its own: a folder "
                                       "(searched recursively) or a CSV list with a 'path' column. Stored as an "
                                       "image set in shards, without a video per image."),
    set_name: str | None = typer.Option(None, "--set", help="Name of the image set (default: the folder's or "
                                        "list's name); its shards are NAME-00000, NAME-00001, …"),
    shard_size: int = typer.Option(SHARD_SIZE, "--shard-size", help="Images per shard of an image set."),
    given_faces: list[Path] | None = typer.Option(None, "--given-faces", help="AffectNet training.csv or "
                                                  "validation.csv: use its face boxes and landmarks instead of "
                                                  "detection for the images it lists."),
) -> None:
    """Probe, transcode to constant fps with frame maps, and find the subject's face in every video; still
    images (--images, or a --list of image files) become an image set."""
    # held from before the workspace is made, so two ingests started at once never both write it
    with writer_lock(workspace, "affcurate ingest"):
        ws = Workspace.init(workspace)
        spec = ExecutorSpec(executor, jobs or ws.settings.ingest.jobs, address)
        if images is None and list_csv is not None and videos is None and list_is_images(list_csv):
            images, list_csv = list_csv, None  # a list of still images is an image set, not a video per image
            console.print(f"{images}: every row is a still image: ingested as an image set",
                          markup=False, highlight=False)
        resume_sets = images is None and videos is None and list_csv is None and ws.images_path.exists()
        result = None
        if videos is not None or list_csv is not None or not (images is not None or resume_sets) or (
                resume_sets and ws.manifest_path.exists()):
            result = ingest(ws, videos, list_csv, subject_from=subject_from, label_from_folder=label_from_folder,
                            image_fps=image_fps, spec=spec, faces=faces)
        sets = None
        if images is not None or resume_sets:
            given = read_given_faces(ws, given_faces or [])
            sets = ingest_images(ws, images, set_name=set_name, subject_from=subject_from,
                                 label_from_folder=label_from_folder, shard_size=shard_size, given=given, spec=spec)
    if result is not None:
        render_summary(result)
    if sets is not None:
        render_images(sets)
    if (result is not None and result.n_failed) or (sets is not None and sets.n_failed):
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


def render_images(result: ImageSetResult) -> None:
    """One row per shard, then every image that failed with its reason, then the counts."""
    s = result.summary
    table = Table(title="image set", show_lines=False)
    for col in ("shard", "images", "faces", "no face", "errors", "seconds"):
        table.add_column(col)
    for r in s.to_dict("records"):
        state = " (done before)" if r["skipped"] else ""
        secs = "" if r["seconds"] is None or r["seconds"] != r["seconds"] else f"{r['seconds']:.1f}"
        style = "red" if r["error"] or r["shard_error"] else "green"
        table.add_row(Text(f"{r['shard']}{state}", style=style), str(r["images"]), str(r["ok"]), str(r["no_face"]),
                      str(r["error"]), secs)
    console.print(table)
    im = result.images
    bad = im[im["status"] == "error"]
    for err in bad["error"].head(20):
        console.print(f"error: {err}", markup=False, highlight=False, soft_wrap=True)
    if len(bad) > 20:
        console.print(f"… and {len(bad) - 20} more (images.parquet lists every one)", markup=False)
    ok, none = int((im["status"] == "ok").sum()), int((im["status"] == "no_face").sum())
    console.print(f"{ok} of {len(im)} images with a face, {none} without, {len(bad)} failed", markup=False)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
