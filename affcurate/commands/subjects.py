"""`affcurate subjects`: who is who across videos, from their faces (see affcurate.identity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.executor import ExecutorSpec
from affcurate.identity.reconcile import SEVERAL_PEOPLE, SEVERAL_SUBJECTS
from affcurate.identity.stage import SubjectsResult, corrections_path, identities_path, subjects
from affcurate.workspace import Workspace

console = Console()

HELP = """Group the videos into identities by their subjects' faces and compare them with the given subject ids.

Descriptors of a few sharp, frontal, large frames of each video's subject (dlib's face recognition network,
weights shipped in face-recognition-models; one per 10 s of presence, at most `subjects.frames` of
affcurate.toml) are computed once per video and kept. Videos whose descriptors are on average closer than
`subjects.threshold` (default 0.5) are one identity (average linkage). The findings, "one person under several
subject ids" and "several people under one subject id", are for you to review: look at
identity/contact_sheet.png, then write what you decide in identity/corrections.toml, which every later run
keeps:

\b
    same = [["clipA", "clipB"]]        # one person: always one identity (merge)
    different = [["clipC", "clipD"]]   # different people: never one identity (split)
    confirm = ["id0003"]               # reviewed: keep id0003 together, close its findings
                                       # (or a list of video ids: confirm = [["clipE", "clipF"]])
"""


def subjects_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Videos described in parallel."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (with --executor ray)."),
    sheet: bool = typer.Option(True, "--sheet/--no-sheet", help="Draw identity/contact_sheet.png."),
    all_identities: bool = typer.Option(False, "--all", help="List every identity, not only those of findings."),
) -> None:
    ws = Workspace.open(workspace)
    spec = ExecutorSpec(executor, jobs or ws.settings.ingest.jobs, address)
    result = subjects(ws, spec=spec, sheet=sheet)
    render(ws, result, all_identities)
    if result.n_failed:
        raise typer.Exit(1)


subjects_command.__doc__ = HELP


def _cell(value: object) -> str:
    """A table cell: lists joined, missing values empty, numbers to two places, text escaped for rich."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return escape(", ".join(str(v) for v in value))
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return escape(str(value))


def render(ws: Workspace, result: SubjectsResult, all_identities: bool = False) -> None:
    s = result.summary
    failed = s[s["status"] == "error"]
    for r in failed.itertuples():
        console.print(f"{r.video_id}: {r.error}", markup=False, highlight=False, soft_wrap=True, style="red")
    ids = result.identities
    n_faces = int(ids["identity"].notna().sum())
    console.print(f"descriptors: {result.n_computed} videos computed, "
                  f"{result.n_skipped} done before, "
                  f"{int((s['status'] == 'no_face').sum())} without a face, {len(failed)} failed",
                  highlight=False)
    f = result.findings
    for kind, key, other, dist in ((SEVERAL_SUBJECTS, "identity", "subjects", "largest distance"),
                                   (SEVERAL_PEOPLE, "subject", "identities", "closest distance")):
        rows = f[f["kind"] == kind]
        if rows.empty:
            continue
        console.print(f"[bold]{kind}[/]: {len(rows)} ({int((~rows['reviewed']).sum())} open)", soft_wrap=True)
        table = Table(show_lines=True)
        for col in (key, other, "videos", dist, "reviewed"):
            table.add_column(col, justify="right" if col == dist else "left", overflow="fold")
        for r in rows.to_dict("records"):
            table.add_row(_cell(r[key]), _cell(r[other]), _cell(r["videos"]), _cell(r["distance"]),
                          "yes" if r["reviewed"] else "")
        console.print(table)
    if f.empty:
        console.print("no findings: every identity has one subject id and every subject id one identity")
    if all_identities:
        table = Table(title="identities")
        for col in ("video", "identity", "subject", "confidence", "nearest identity", "distance"):
            table.add_column(col, justify="right" if col in ("confidence", "distance") else "left")
        for r in ids.itertuples():
            table.add_row(_cell(r.video_id), _cell(r.identity), _cell(r.subject), _cell(r.confidence),
                          _cell(r.nearest_identity), _cell(r.nearest_distance))
        console.print(table)
    placed = int((ids["identity"].notna() & ids["confidence"].isna()).sum())
    extra = f", {placed} without a face placed by corrections" if placed else ""
    console.print(f"{ids['identity'].nunique()} identities among {n_faces - placed} videos with a face{extra} "
                  f"(threshold {ws.settings.subjects.threshold}); {identities_path(ws)}", markup=False,
                  highlight=False, soft_wrap=True)
    if result.sheet is not None:
        console.print(f"contact sheet: {result.sheet}", markup=False, highlight=False, soft_wrap=True)
    if not result.corrections.empty:
        console.print(f"corrections kept from {corrections_path(ws)}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("subjects", help=HELP)(subjects_command)
