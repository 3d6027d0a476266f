"""Progress bars for the command line: the rich rendering of the library's plain progress reports."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress(transient: bool = False, console: Console | None = None) -> Progress:
    """The one look of a progress block (also used by the stages that still draw their own)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
        console=console,
    )


class Bars:
    """A progress callback (``affcurate.executor.Progress``) that draws one bar per thing being done.

    The block is shown from the first report until every bar is full (or :meth:`close`), so what a command
    prints between two stages lands between their blocks. A bar is drawn from a report with ``done <
    total``: every stage reports 0 done first."""

    def __init__(self, console: Console | None = None):
        self.console = console
        self._block: Progress | None = None
        self._bars: dict[str, TaskID] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if total <= 0 or (done >= total and what not in self._bars):
            return  # nothing to show, or the last word on a bar already drawn full
        if self._block is None:
            self._block = make_progress(console=self.console)
            self._block.start()
        if what not in self._bars:
            self._bars[what] = self._block.add_task(escape(what), total=total)
        self._block.update(self._bars[what], completed=done, total=total)
        if all(t.finished for t in self._block.tasks):
            self.close()

    def close(self) -> None:
        """Stop drawing; the next report starts a new block."""
        if self._block is not None:
            self._block.stop()
        self._block, self._bars = None, {}
