"""`affcurate split`, `affcurate split --from FILE` (a given split) and `affcurate split --check`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.splits import check, split
from affcurate.splits.check import face_leaks
from affcurate.splits.result import SplitResult
from affcurate.workspace import Workspace

console = Console()


def split_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    train: float | None = typer.Option(None, "--train", help="Share of frames in train."),
    val: float | None = typer.Option(None, "--val", help="Share of frames in validation."),
    test: float | None = typer.Option(None, "--test", help="Share of frames in test."),
    folds: int | None = typer.Option(None, "--folds", help="K subject-disjoint folds instead of splits."),
    method: str | None = typer.Option(None, "--method", help="optimise (default) or random (best of N draws)."),
    draws: int | None = typer.Option(None, "--draws", help="Draws of the random method."),
    seed: int | None = typer.Option(None, "--seed"),
    balance: list[str] = typer.Option([], "--balance", help="Manifest column to balance too (e.g. gender)."),
    tolerance: float | None = typer.Option(None, "--tolerance", help="How far a part's share of frames may be "
                                           "from its target (default split.tolerance, 0.05)."),
    check_only: bool = typer.Option(False, "--check", help="Only verify splits.parquet (or --file)."),
    file: Path | None = typer.Option(None, "--file", help="Split file to verify with --check (parquet or CSV)."),
    from_file: Path | None = typer.Option(
        None, "--from", help="Adopt a given split: CSV/Parquet of video_id (or subject) and split (or fold), an "
        "ABAW folder (Train_Set/, Validation_Set/) or AffectNet's training.csv/validation.csv (validation → test)."),
    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="With --from: leave out names the workspace "
                                      "does not have, and leave labelled videos the file does not name unassigned."),
    allow_leaks: bool = typer.Option(False, "--allow-leaks", help="With --from: keep a subject that is in two "
                                     "parts."),
    subjects: str | None = typer.Option(None, "--subjects", help="Who is one person: given (subject ids), faces "
                                        "(identities of `affcurate subjects`) or both (default when identities "
                                        "exist): no person crosses a split or fold."),
) -> None:
    """Split the labelled videos by subject into train/val/test (or folds), balancing the label distributions;
    or adopt a given split (--from)."""
    ws = Workspace.open(workspace)
    if check_only:
        problems = check(ws, file)
        for p in problems:
            console.print(f"[red]✗[/] {escape(p)}", soft_wrap=True)  # subjects are free text: `[x]` stays
        leaks = face_leaks(ws, file)
        if len(leaks):
            from affcurate.identity import pair_sheet

            sheet = pair_sheet(ws, leaks, ws.reports_dir / "split_face_leaks.png")
            console.print(f"the faces side by side: {escape(str(sheet))}", soft_wrap=True)
        if problems:
            raise typer.Exit(1)
        console.print("[green]✓[/] no subject is in two splits; every labelled video is assigned")
        return
    r = split(ws, train=train, val=val, test=test, folds=folds, method=method, draws=draws, seed=seed,
              balance_columns=tuple(balance) if balance else None, tolerance=tolerance, from_file=from_file,
              skip_unknown=skip_unknown, allow_leaks=allow_leaks, subjects=subjects)
    show(r, ws)


def show(r: SplitResult, ws: Workspace) -> None:
    """The balance tables of a split, computed or given, and one line on what was written."""
    for name, df in r.summary.items():
        t = Table(title=escape(name))
        flat = df.copy()
        flat.columns = [" ".join(str(x) for x in c if x) if isinstance(c, tuple) else str(c) for c in flat.columns]
        t.add_column("")
        for c in flat.columns:
            t.add_column(escape(c), justify="right")
        for idx, row in flat.iterrows():
            t.add_row(escape(str(idx)), *[f"{v:g}" if isinstance(v, float) else escape(str(v)) for v in row])
        console.print(t)
    for note in r.notes:
        console.print(f"[yellow]![/] {escape(note)}", soft_wrap=True)
    source = f" from {escape(r.source)}" if r.source else ""
    console.print(f"{r.method}{source}: largest AU-rate gap [bold]{r.max_au_gap:.2f}[/] percentage points; "
                  f"fractions {escape(str(r.fractions))}; written to {escape(str(ws.splits_path))}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("split")(split_command)
