"""Tables as tables in Markdown and HTML: one header row of plain names (never ``('count', 'test')``), cells
written the same in both, empty where there is no value."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# a cell that reads as a number (or "N (x%)") is right-aligned
_NUMBER = re.compile(r"[-+]?[0-9][0-9.,e+-]*( \([0-9.]+%\))?")


@dataclass
class Section:
    """A heading with an optional sentence and an optional table."""

    title: str
    table: pd.DataFrame | None = None
    text: str = ""


def _name(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value if v is not None and str(v) != "")
    return "" if value is None else str(value)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float | np.floating) and np.isnan(value))


def _decimals(values: list[object]) -> int:
    """The decimals a column of numbers needs (at most 4), so that all its numbers show as many."""
    floats = [float(v) for v in values if isinstance(v, float | np.floating) and np.isfinite(v)]
    return max([len(f"{v:.4f}".rstrip("0").split(".")[1]) for v in floats if abs(v) < 1e15] or [0])


def _cell(value: object, decimals: int) -> str:
    if _missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{decimals}f}" if abs(float(value)) < 1e15 else f"{float(value):g}"
    return str(value)


def _column(values: list[object], decimals: int | None = None) -> list[str]:
    decimals = _decimals(values) if decimals is None else decimals
    return [_cell(v, decimals) for v in values]


def flat(df: pd.DataFrame) -> pd.DataFrame:
    """The table with one header row of names and one index column, every cell a display string; a table's
    ``attrs["decimals"]`` (column name → decimals) fixes how its numbers are shown."""
    decimals = dict(df.attrs.get("decimals") or {})
    out = df.copy()
    if isinstance(out.index, pd.MultiIndex):
        out = out.reset_index()
        out.index = [""] * len(out)
    out.columns = [_name(c) for c in out.columns]
    plain = isinstance(out.index, pd.RangeIndex)  # no row names: none are shown
    out.index = [""] * len(out) if plain else [_name(i) for i in out.index]
    out.index.name = _name(df.index.name) if not isinstance(df.index, pd.MultiIndex) else None
    return pd.DataFrame({c: _column(out.iloc[:, j].tolist(), decimals.get(c)) for j, c in enumerate(out.columns)},
                        index=out.index).rename_axis(out.index.name)


def _has_index(df: pd.DataFrame) -> bool:
    return not (isinstance(df.index, pd.RangeIndex) or all(i == "" for i in df.index))


def markdown_table(df: pd.DataFrame) -> str:
    f = flat(df)
    index = _has_index(f)
    # cells are display strings already; numbers read right-aligned, names left (a video id "106" is a name)
    names = {_name(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])}
    align = ["left" if col in names or not all(c == "" or _NUMBER.fullmatch(c) for c in f[col]) else "right"
             for col in f.columns]
    return f.to_markdown(index=index, disable_numparse=True, colalign=("left",) * index + tuple(align))


def html_table(df: pd.DataFrame) -> str:
    f = flat(df)
    if _has_index(f):  # the row names become the first column, headed by their name: one header row
        name = f.index.name or ""
        f = f.reset_index(names="__rows__").rename(columns={"__rows__": name})
    return f.to_html(border=0, classes="t", index=False)


def markdown(title: str, sections: list[Section], figures: list[tuple[str, Path, bytes]]) -> str:
    md = [f"# {title}", ""]
    for s in sections:
        md += [f"## {s.title}", ""]
        if s.text:
            md += [s.text, ""]
        if s.table is not None:
            md += [markdown_table(s.table), ""]
    for name, path, _ in figures:
        md += [f"## {name}", "", f"![{name}]({path.name})", ""]
    return "\n".join(md)


def page(title: str, sections: list[Section], figures: list[tuple[str, Path, bytes]]) -> str:
    """A self-contained HTML page: the tables, then the plots embedded as data URLs."""
    body = []
    for s in sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.text:
            body.append(f"<p>{html.escape(s.text)}</p>")
        if s.table is not None:
            body.append(html_table(s.table))
    for name, _, data in figures:
        b64 = base64.b64encode(data).decode()
        body.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{b64}'>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>affcurate report</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
            "table.t{border-collapse:collapse;margin:.5em 0}table.t td,table.t th{padding:2px 8px;"
            "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}h2{margin-top:1.6em}"
            f"</style></head><body><h1>{html.escape(title)}</h1>{''.join(body)}</body></html>")
