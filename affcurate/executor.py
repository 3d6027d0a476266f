"""Where per-video work runs: in this process, on a local process pool, or on a Ray cluster.

A stage hands ``map_videos`` a picklable function of one work item and gets each item's result (or the
exception it raised) back as soon as it finishes, with rich progress. Nothing in the stages knows which
executor runs it.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from affcurate.errors import AffcurateError


@dataclass(frozen=True)
class ExecutorSpec:
    """How to run per-video work: ``local`` with ``jobs`` processes, or ``ray`` (optionally at ``address``)."""

    kind: str = "local"
    jobs: int = 1
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise AffcurateError(f"unknown executor {self.kind!r}: expected local or ray")
        if self.jobs < 1:
            raise AffcurateError(f"--jobs must be at least 1, got {self.jobs}")


@dataclass
class ItemResult:
    item: Any
    value: Any = None
    error: str | None = None
    """One line: the exception type and message, when the function raised."""
    detail: str | None = None
    """The traceback, for logs."""


def _call(fn: Callable[[Any], Any], item: Any) -> ItemResult:
    try:
        return ItemResult(item, fn(item))
    except Exception as exc:  # noqa: BLE001 - one bad video must never stop the others
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = line if isinstance(exc, AffcurateError) else f"{type(exc).__name__}: {line}"
        return ItemResult(item, None, msg, traceback.format_exc())


def make_progress(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
    )


def map_items(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    spec: ExecutorSpec = ExecutorSpec(),
    description: str = "videos",
    progress: Progress | None = None,
) -> Iterator[ItemResult]:
    """Run ``fn`` on every item; yield an :class:`ItemResult` per item as it finishes (any order)."""
    items = list(items)
    own = progress is None
    progress = progress or make_progress()
    if own:
        progress.start()
    task = progress.add_task(description, total=len(items))
    try:
        if spec.kind == "ray":
            from affcurate.ray_executor import ray_map

            for res in ray_map(_call, fn, items, spec):
                progress.advance(task)
                yield res
        elif spec.jobs == 1 or len(items) <= 1:
            for item in items:
                res = _call(fn, item)
                progress.advance(task)
                yield res
        else:
            ctx = mp.get_context("spawn")  # no fork: onnxruntime and torch thread pools do not survive it
            with ProcessPoolExecutor(max_workers=min(spec.jobs, len(items)), mp_context=ctx) as pool:
                pending = {pool.submit(_call, fn, item) for item in items}
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        progress.advance(task)
                        yield fut.result()
    finally:
        if own:
            progress.stop()
