"""`affcurate faces run` (rerun the faces stage with other options), `affcurate faces show` (a picture of a
video's tracks) and `affcurate faces pick`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec
from affcurate.faces.given import read_given
from affcurate.faces.stage import find_faces, pick
from affcurate.workspace import Workspace

console = Console()
faces_app = typer.Typer(help="Find, track and align the subject's face: `faces run`, `faces show`, `faces pick`.",
                        no_args_is_help=True)


@faces_app.command("run")
def faces_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    detector: str | None = typer.Option(None, "--detector", help="centerface, blazeface or fan."),
    target: str | None = typer.Option(None, "--target", help="score or nearest-centre."),
    every: int | None = typer.Option(None, "--every", help="Detect every K frames, carry boxes between."),
    crop_size: int | None = typer.Option(None, "--crop-size", help="Side of the aligned crops in pixels."),
    align: str | None = typer.Option(None, "--align", help="five-point or eye-line."),
    export_jpeg: bool = typer.Option(False, "--export-jpeg", help="Also write cropped_aligned/<video>/NNNNN.jpg."),
    jobs: int = typer.Option(1, "--jobs", "-j"),
    from_labels: str | None = typer.Option(None, "--from-labels",
                                           help="Use the faces a dataset gives with its labels (afew-va, "
                                                "affectnet) instead of detection, for the videos it covers."),
    paths: list[Path] = typer.Argument(None, help="With --from-labels: the dataset's label files or folders."),
) -> None:
    """Run the faces stage on every ingested video (options override the workspace settings for this run)."""
    ws = Workspace.open(workspace)
    given = None
    if from_labels is not None:
        if not paths:
            raise AffcurateError("--from-labels needs the dataset's label files or folders after the workspace")
        given = read_given(ws, from_labels, list(paths))
        console.print(f"faces given for {len(given)} videos by the {escape(from_labels)} files")
    elif paths:
        raise AffcurateError("label files after the workspace are read only with --from-labels FORMAT")
    overrides = {k: v for k, v in {"detector": detector, "target": target, "detect_every": every,
                                   "crop_size": crop_size, "align": align,
                                   "export_jpeg": export_jpeg or None}.items() if v is not None}
    summary = find_faces(ws, spec=ExecutorSpec(jobs=jobs), overrides=overrides or None, given=given)
    render(summary)
    if (summary["status"] == "error").any():
        raise typer.Exit(1)


@faces_app.command("show")
def show_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    video: str = typer.Argument(..., help="Video id."),
    out: Path | None = typer.Option(None, "--out", help="Where to write the PNG (default "
                                                       "reports/tracks/<video>.png)."),
) -> None:
    """Draw one video's face tracks (id, frames, median score, thumbnails, the subject marked) as a PNG and list
    them; the ids are those `faces pick` takes."""
    from affcurate.faces.sheet import track_sheet  # OpenCV drawing loads only for this command

    sheet = track_sheet(Workspace.open(workspace), video, out)
    console.print(str(sheet.path), markup=False, soft_wrap=True)  # a long path stays one line
    table = Table(box=None, pad_edge=False)
    for col in ("track", "frames", "first-last", "median score", "detected", "subject"):
        table.add_column(col, justify="left" if col in ("first-last", "subject") else "right")
    for r in sheet.tracks:
        table.add_row(str(r.track_id), str(r.frames), f"{r.first}-{r.last}", f"{r.median_score:.2f}",
                      str(r.detected), "subject" if r.is_subject else "")
    if sheet.tracks:
        console.print(table)
    else:
        console.print(f"{escape(video)}: no faces found")
    if len(sheet.rows) < len(sheet.tracks):
        console.print(f"the picture shows {len(sheet.rows)} of them: the subject's and the longest tracks")


@faces_app.command("pick")
def pick_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    video: str = typer.Argument(..., help="Video id."),
    track: int = typer.Argument(..., help="Track id of the subject (see `affcurate faces show WS VIDEO`)."),
) -> None:
    """Choose the subject of one video by hand; its faces table and crops are redone."""
    ws = Workspace.open(workspace)
    out = pick(ws, video, track)
    console.print(f"{escape(video)}: track {track} is the subject on {out['target_frames']} of {out['n_frames']} "
                  "frames")


def render(summary) -> None:  # noqa: ANN001 - a DataFrame
    table = Table(title="faces")
    for col in ("video", "status", "frames", "tracks", "target track", "target frames", "bad frames", "error"):
        table.add_column(col)
    def cell(r: dict, k: str) -> str:
        v = r.get(k)
        # escaped: an error message may hold `[brackets]` that rich would take for markup
        return "" if v is None or v != v else str(int(v)) if isinstance(v, float) else escape(str(v))

    for r in summary.to_dict("records"):
        table.add_row(cell(r, "video_id"), cell(r, "status"), cell(r, "n_frames"), cell(r, "n_tracks"),
                      cell(r, "target_track"), cell(r, "target_frames"), cell(r, "bad_frames"), cell(r, "error"))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(faces_app, name="faces")
