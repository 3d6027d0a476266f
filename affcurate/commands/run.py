"""`affcurate run RECIPE WS`: a whole curation from pipelines/, locally or on Ray."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec
from affcurate.run import RunResult, run

console = Console()


def _variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise AffcurateError(f"--var {p!r}: expected NAME=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


def run_command(
    recipe: Path = typer.Argument(..., help="Recipe file, e.g. pipelines/demo.toml."),
    workspace: Path = typer.Argument(..., help="Workspace folder (created if missing)."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (with --executor ray)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Videos processed in parallel."),
    var: list[str] = typer.Option([], "--var", help="NAME=VALUE for ${NAME} in the recipe's paths."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and stop."),
    force: bool = typer.Option(False, "--force", help="Rerun stages even when done."),
) -> None:
    """Run every stage of a recipe in order, skipping the ones already done."""
    spec = ExecutorSpec(executor, jobs, address)
    result = run(recipe, workspace, spec=spec, variables=_variables(var), dry_run=dry_run, force=force,
                 console=console)
    if dry_run:
        render_plan(result, workspace)
        return
    render_end(result, workspace)
    if result.failed_videos:
        raise typer.Exit(1)


def render_plan(result: RunResult, workspace: Path) -> None:
    r = result.recipe
    table = Table(title=f"{r.name}: {r.title}")
    table.add_column("stage")
    table.add_column("state")
    table.add_column("settings")
    for s in result.plan:
        state = "[green]done, will skip[/]" if s.done else "will run"
        table.add_row(s.name, state, ", ".join(f"{k}={v}" for k, v in s.config.items()) or "(defaults)")
    console.print(table)
    console.print(f"workspace: {workspace}")


def render_end(result: RunResult, workspace: Path) -> None:
    table = Table(title=f"recipe {result.recipe.name}")
    table.add_column("stage")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    for s in result.plan:
        if s.name in result.skipped:
            table.add_row(s.name, "done before", "")
        else:
            table.add_row(s.name, "ran", f"{result.seconds.get(s.name, 0):.1f}")
    console.print(table)
    ws = Path(workspace)
    report = ws / "reports" / "report.html"
    if report.exists():
        console.print(f"report: [bold]{report.resolve()}[/]")
    bench = ws / "runs" / "benchmark.md"
    if bench.exists():
        console.print(f"benchmark table: [bold]{bench.resolve()}[/]")
        console.print(bench.read_text())


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
