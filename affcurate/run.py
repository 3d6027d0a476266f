"""The recipe runner's former module name: everything is in :mod:`affcurate.recipe`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from affcurate.recipe import *  # noqa: F403
from affcurate.recipe import RunResult
from affcurate.recipe import run as _run


def run(recipe_path: str | Path, workspace: str | Path, *, console: Any = None, **options: Any) -> RunResult:
    """:func:`affcurate.recipe.run`; ``console`` (a rich console, once) is accepted and unused: the runner
    prints nothing now."""
    return _run(recipe_path, workspace, **options)
