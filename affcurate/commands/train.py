"""`affcurate train-baseline`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from affcurate.names import check_name
from affcurate.workspace import Workspace

console = Console()
err_console = Console(stderr=True)


def _list(v: str | None) -> list[str] | None:
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


def _note(text: str) -> None:
    # one line on stderr, as it happens; paths and names are shown as they are (no rich markup)
    err_console.print(f"warning: {text}", markup=False, highlight=False, soft_wrap=True)


def train_command(
    workspace: Path = typer.Argument(..., help="Workspace folder."),
    models: str | None = typer.Option(None, "--models", help="Comma list of prior, linear, cnn, cnn-gru."),
    tasks: str | None = typer.Option(None, "--tasks", help="Comma list of au, expr, va."),
    epochs: int | None = typer.Option(None, "--epochs"),
    seed: int | None = typer.Option(None, "--seed"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    name: str | None = typer.Option(
        None, "--name", help="Run folder name under runs/ (default: one derived from the settings and the data). "
        "The same name with the same settings, labels and splits resumes that run; with anything else it is "
        "refused, naming what differs, unless --overwrite."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run of that name with a "
                                   "fresh one (its old results are deleted)."),
    folds: bool = typer.Option(False, "--folds", help="Cross-validate over the folds of splits.parquet (`affcurate "
                               "split WS --folds K`): every fold k is trained and scored in runs/<run>/fold-<k>/, "
                               "tested on fold k and validated on fold k+1 (mod K); the table gives mean ± std "
                               "over the folds and every fold's row."),
    no_val: bool = typer.Option(False, "--no-val", help="No validation: its frames (with --folds, the next fold) "
                                "are trained on; the torch baselines keep their last epoch, AU thresholds stay 0.5."),
    backbone: str | None = typer.Option(
        None, "--backbone", help="Start cnn and cnn-gru from a pretrained network on disk (nothing is downloaded): "
        "resnet18:FILE, a ResNet-18 state dict in torchvision's key layout, fine-tuned (train.input_size >= 64); "
        "or onnx:FILE, any ONNX feature extractor run frozen with onnxruntime, a small head trained on its "
        "output vector."),
) -> None:
    """Train and benchmark baselines on the curated crops, labels and splits.

    A killed run, started again with the same settings, resumes and ends as an uninterrupted run would.

    A damaged checkpoint is reported and its model starts again from scratch.

    A run folder only holds results of the settings in its config.json: see --name and --overwrite.

    VA metrics are RMSE, PCC, CCC and ICC(2,1); a score that cannot be computed reads n/a, with the reason under
    the table. Setting train.va_bins > 0 weights the VA loss by valence-arousal bins (seed 004).
    """
    if name is not None:  # a run name becomes a folder under runs/: checked before anything is read or written
        check_name(name, "run name", "--name")
    from affcurate.train.runner import train_baseline  # torch loads only for this command

    ws = Workspace.open(workspace)
    r = train_baseline(ws, _list(models), _list(tasks), epochs, seed, batch_size, name=name, on_note=_note,
                       overwrite=overwrite, folds=folds, validation=not no_val, backbone=backbone)
    # soft_wrap: a table wider than the terminal stays one line per row (the terminal wraps it, or a pager)
    console.print((r.run_dir / "benchmark.md").read_text(encoding="utf-8"), markup=False, highlight=False,
                  soft_wrap=True)
    console.print(f"run written to {r.run_dir}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("train-baseline")(train_command)
