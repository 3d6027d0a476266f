"""`affcurate split` and `affcurate split --check`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.splits import check, split
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
    check_only: bool = typer.Option(False, "--check", help="Only verify splits.parquet (or --file)."),
    file: Path | None = typer.Option(None, "--file", help="Split file to verify with --check (parquet or CSV)."),
) -> None:
    """Split the labelled videos by subject into train/val/test (or folds), balancing the label distributions."""
    ws = Workspace.open(workspace)
    if check_only:
        problems = check(ws, file)
        for p in problems:
            console.print(f"[red]✗[/] {escape(p)}", soft_wrap=True)  # subjects are free text: `[x]` stays
        if problems:
            raise typer.Exit(1)
        console.print("[green]✓[/] no subject is in two splits; every labelled video is assigned")
        return
    r = split(ws, train=train, val=val, test=test, folds=folds, method=method, draws=draws, seed=seed,
              balance_columns=tuple(balance) if balance else None)
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
    console.print(f"{r.method}: largest AU-rate gap [bold]{r.max_au_gap:.2f}[/] percentage points; "
                  f"fractions {escape(str(r.fractions))}; written to {escape(str(ws.splits_path))}")


def register(app: typer.Typer) -> None:
    app.command("split")(split_command)
