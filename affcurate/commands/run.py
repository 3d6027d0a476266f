"""`affcurate run RECIPE WS`: a whole curation from pipelines/, locally or on Ray."""

from __future__ import annotations

from pathlib import Path

import tomllib
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from affcurate.commands._progress import Bars
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec
from affcurate.recipe import RunResult, StagePlan, bundled_recipes, load_recipe, run

console = Console()


def _variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise AffcurateError(f"--var {p!r}: expected NAME=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


def render_recipes() -> None:
    """The packaged recipes: name, title and the curation each reproduces (the demo: what it shows)."""
    table = Table(title="packaged recipes", title_justify="left")
    for col in ("name", "title", "reproduces"):
        table.add_column(col, no_wrap=col == "name")
    for path in bundled_recipes().values():
        r = load_recipe(path)
        reproduces = tomllib.loads(r.text)["recipe"].get("reproduces")  # kept in the file, not on Recipe
        table.add_row(escape(r.name), escape(r.title), escape(reproduces) if reproduces else
                      f"[dim]nothing (a demonstration): {escape(r.description)}[/]" if r.demo_labels else
                      f"[dim]{escape(r.description)}[/]")
    console.print(table)
    console.print("run one by name: affcurate run NAME WORKSPACE (--dry-run shows its plan first)",
                  markup=False, highlight=False)


def _list_recipes(value: bool) -> None:
    if value:
        render_recipes()
        raise typer.Exit()


def run_command(
    recipe: str = typer.Argument(..., help="Recipe file (e.g. pipelines/demo.toml) or a packaged recipe's name "
                                 "(see --list)."),
    workspace: Path = typer.Argument(..., help="Workspace folder (created if missing)."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (with --executor ray)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Videos processed in parallel."),
    var: list[str] = typer.Option([], "--var", help="NAME=VALUE for ${NAME} in the recipe's paths."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the recipe and its inputs, print the plan, stop."),
    force: bool = typer.Option(False, "--force", help="Rerun stages even when done."),
    _list: bool = typer.Option(False, "--list", help="List the packaged recipes and exit.", callback=_list_recipes,
                               is_eager=True, expose_value=False),
) -> None:
    """Run every stage of a recipe in order, skipping the ones already done."""
    spec = ExecutorSpec(executor, jobs, address)
    bars = Bars(console)

    def on_stage(stage: StagePlan, event: str) -> None:
        bars.close()  # a stage's bars end above the next stage's line
        if event == "skipped":
            console.print(f"[dim]✓ {stage.name}: done before, skipped[/]")
        elif event == "started":
            console.rule(f"[bold]{stage.name}")

    try:
        result = run(recipe, workspace, spec=spec, variables=_variables(var), dry_run=dry_run, force=force,
                     progress=bars, on_stage=on_stage)
    finally:
        bars.close()
    if dry_run:
        render_plan(result, workspace)
        return
    render_end(result, workspace)
    if result.failed_videos:
        raise typer.Exit(1)


def render_plan(result: RunResult, workspace: Path) -> None:
    r = result.recipe
    table = Table(title=escape(f"{r.name}: {r.title}"))
    table.add_column("stage")
    table.add_column("state")
    table.add_column("settings")
    for s in result.plan:
        state = "[green]done, will skip[/]" if s.done else "will run"
        table.add_row(s.name, state, escape(", ".join(f"{k}={v}" for k, v in s.config.items())) or "(defaults)")
    console.print(table)
    console.print(f"workspace: {workspace}", markup=False)


def render_end(result: RunResult, workspace: Path) -> None:
    table = Table(title=escape(f"recipe {result.recipe.name}"))
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
        console.print(f"report: [bold]{escape(str(report.resolve()))}[/]")
    bench = ws / "runs" / "benchmark.md"
    if bench.exists():
        console.print(f"benchmark table: [bold]{escape(str(bench.resolve()))}[/]")
        console.print(bench.read_text(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
