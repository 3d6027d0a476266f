"""The one way every benchmark prints its figures: a rich table titled with the machine's core count."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    table = Table(title=f"{title} ({os.cpu_count()} cores)")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[str(x) for x in r])
    Console(width=max(Console().width, 120)).print(table)
