"""Where per-video work runs: in this process, on a local process pool, or on a Ray cluster.

A stage hands ``map_items`` a picklable function of one work item and gets each item's result (or the
exception it raised) back as soon as it finishes. Progress is reported through one plain callback,
:data:`Progress`; the library never draws it, the command line does. Nothing in the stages knows which
executor runs it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from affcurate.errors import AffcurateError

Progress = Callable[[str, int, int], None]
"""A progress report: ``(what, done, total)``, e.g. ``("transcode", 3, 10)``."""


def quiet(what: str, done: int, total: int) -> None:
    """The progress report that shows nothing: the library's default."""


_current: ContextVar[Progress] = ContextVar("affcurate_progress", default=quiet)


@contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """Inside the block, stages called without a progress argument report to ``progress``."""
    token = _current.set(progress)
    try:
        yield
    finally:
        _current.reset(token)


def current_progress() -> Progress:
    """Where a stage reports when it was given no progress callback (see :func:`reporting`)."""
    return _current.get()


@dataclass
class _Task:
    description: str
    total: float
    completed: float = 0

    @property
    def finished(self) -> bool:
        return self.completed >= self.total


@dataclass
class Tasks:
    """The task calls of rich's ``Progress`` (``add_task``, ``advance``, ``update``, ``tasks``, ``start``,
    ``stop``) over one :data:`Progress` callback, for stages that still take a progress object; calling it
    is calling the callback."""

    report: Progress = quiet
    tasks: list[_Task] = field(default_factory=list)

    def __call__(self, what: str, done: int, total: int) -> None:
        """A :data:`Progress` itself too: a stage that takes the plain callback gets it passed on."""
        self.report(what, done, total)

    def start(self) -> None:
        """Nothing to start: the callback draws (or not)."""

    def stop(self) -> None:
        """Nothing to stop."""

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        self.tasks.append(_Task(description, total or 0))
        self._send(len(self.tasks) - 1)
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.tasks[task_id].completed += advance
        self._send(task_id)

    def update(self, task_id: int, *, completed: float | None = None, total: float | None = None,
               advance: float | None = None, **_: Any) -> None:
        t = self.tasks[task_id]
        t.total = t.total if total is None else total
        t.completed = (t.completed if completed is None else completed) + (advance or 0)
        self._send(task_id)

    def _send(self, task_id: int) -> None:
        t = self.tasks[task_id]
        self.report(t.description, int(t.completed), int(t.total))


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


def one_line(exc: BaseException) -> str:
    """What a summary says of a failure: the message of an :class:`AffcurateError`, else the type and message."""
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return line if isinstance(exc, AffcurateError) else f"{type(exc).__name__}: {line}"


def _call(fn: Callable[[Any], Any], item: Any) -> ItemResult:
    try:
        return ItemResult(item, fn(item))
    except Exception as exc:  # noqa: BLE001 - one bad video must never stop the others
        return ItemResult(item, None, one_line(exc), traceback.format_exc())


def _worker_start() -> None:
    """Each worker runs one video at a time on its core: the detector's own thread pool would only contend."""
    os.environ.setdefault("AFFCURATE_DETECTOR_THREADS", "1")


def _new_pool(jobs: int) -> ProcessPoolExecutor:
    ctx = mp.get_context("spawn")  # no fork: onnxruntime and torch thread pools do not survive it
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_start)


_pool: ContextVar[tuple[ExecutorSpec, ProcessPoolExecutor] | None] = ContextVar("affcurate_pool", default=None)


@contextmanager
def worker_pool(spec: ExecutorSpec) -> Iterator[None]:
    """Inside the block, the stages' ``map_items`` with ``spec`` share one set of worker processes, so their
    start, imports and detector sessions are paid once per worker rather than once per stage (a no-op for one
    process and for Ray, whose workers outlive a call anyway)."""
    if spec.kind != "local" or spec.jobs == 1 or _pool.get() is not None:
        yield
        return
    with _new_pool(spec.jobs) as pool:
        token = _pool.set((spec, pool))
        try:
            yield
        finally:
            _pool.reset(token)


def _on_pool(pool: ProcessPoolExecutor, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[ItemResult]:
    pending = {pool.submit(_call, fn, item) for item in items}
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            yield fut.result()


def _results(fn: Callable[[Any], Any], items: list[Any], spec: ExecutorSpec) -> Iterator[ItemResult]:
    shared = _pool.get()
    if spec.kind == "ray":
        from affcurate.ray_executor import ray_map

        yield from ray_map(_call, fn, items, spec)
    elif spec.jobs == 1 or len(items) <= 1:
        for item in items:
            yield _call(fn, item)
    elif shared is not None and shared[0] == spec:
        yield from _on_pool(shared[1], fn, items)
    else:
        with _new_pool(min(spec.jobs, len(items))) as pool:
            yield from _on_pool(pool, fn, items)


def map_items(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    spec: ExecutorSpec = ExecutorSpec(),
    description: str = "videos",
    progress: Progress | Any | None = None,
) -> Iterator[ItemResult]:
    """Run ``fn`` on every item; yield an :class:`ItemResult` per item as it finishes (any order).

    ``progress`` is a :data:`Progress` callback (default: :func:`current_progress`), or an object with rich's
    ``add_task``/``advance`` (:class:`Tasks`, or a rich ``Progress`` of a stage that draws its own)."""
    items = list(items)
    tasks = progress if hasattr(progress, "add_task") else Tasks(progress or current_progress())
    task = tasks.add_task(description, total=len(items))
    for res in _results(fn, items, spec):
        tasks.advance(task)
        yield res
