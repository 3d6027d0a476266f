"""`affcurate predict`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.executor import ExecutorSpec
from affcurate.names import check_name
from affcurate.workspace import Workspace

console = Console()


def _list(v: str | None) -> list[str] | None:
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


def predict_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    run: str = typer.Option(..., "--run", help="The trained run under runs/ whose model pre-labels."),
    model: str = typer.Option("cnn", "--model", help="Which of the run's models: prior, linear, cnn, cnn-gru."),
    fold: int | None = typer.Option(None, "--fold", help="Of a cross-validated run: the fold whose model is used."),
    videos: str | None = typer.Option(None, "--videos", help="Comma list of video ids (default: every video with "
                                      "face crops, for each task no person labelled)."),
    tasks: str | None = typer.Option(None, "--tasks", help="Comma list of au, expr, va (default: the run's)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Videos predicted in parallel."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (with --executor ray)."),
) -> None:
    """Pre-label videos with a trained run: per-frame predictions with a confidence, as machine annotations.

    The annotator is <run>-<model> (source model): the desk shows its labels read-only and A accepts them.

    Merge leaves them out unless --machine fallback|fuse.

    A second identical call finds the tables current and writes nothing.

    The run's model card lists the videos pre-labelled and by which call.
    """
    check_name(run, "run name", "--run")  # before torch loads: a bad name costs nothing
    from affcurate.train.predict import predict  # torch loads only for this command

    ws = Workspace.open(workspace)
    r = predict(ws, run, model, _list(videos), _list(tasks), fold, ExecutorSpec(executor, jobs, address))
    table = Table(title=f"predict: annotator {escape(r.annotator)} (source model)")
    for col in ("video", "written", "unchanged", "error"):
        table.add_column(col)
    for vid in sorted({*r.written, *r.unchanged, *r.failed}):
        table.add_row(escape(vid), escape(", ".join(r.written.get(vid, []))),
                      escape(", ".join(r.unchanged.get(vid, []))), f"[red]{escape(r.failed[vid])}[/]"
                      if vid in r.failed else "")
    console.print(table)
    for vid, why in sorted(r.skipped.items()):
        console.print(f"skipped {vid}: {why}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(r.written)} videos written, {len(set(r.unchanged) - set(r.written))} unchanged, "
                  f"{len(r.failed)} failed; model card: {r.run_dir / 'MODEL_CARD.md'}",
                  markup=False, highlight=False, soft_wrap=True)
    if r.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
