"""A reviewer's corrections to the identities, in ``identity/corrections.toml``, kept by every later run::

    # one person: these videos always share an identity (merges identities)
    same = [["clipA", "clipB"], ["clipC", "clipD", "clipE"]]
    # different people: no two videos of a list ever share an identity (splits one)
    different = [["clipF", "clipG"]]
    # reviewed: the identity's videos (as the last run named them) stay together and its findings are closed;
    # a list of video ids confirms those videos as one person
    confirm = ["id0003", ["clipH", "clipI"]]

Every key is optional. Video ids must be videos of the workspace and identity names those of the last run's
``identity/identities.parquet``; a contradiction (two videos that are both the same and different, through any
chain of entries) is refused with the file and line, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from affcurate.errors import InputError
from affcurate.settings import read_toml

KEYS = ("same", "different", "confirm")


@dataclass
class Corrections:
    """The resolved corrections: ``groups`` (each one person: ``same`` and ``confirm`` entries joined),
    ``apart`` (pairs of videos that are different people), ``confirmed`` (the videos of each confirmation)."""

    path: Path | None = None
    groups: list[list[str]] = field(default_factory=list)
    apart: list[tuple[str, str]] = field(default_factory=list)
    confirmed: list[frozenset[str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.groups or self.apart or self.confirmed)


def _line(text: str, key: str, value: str | None = None, nth: int = 0) -> int | None:
    """The line of ``key``'s ``nth`` mention of ``value`` (quoted), or of ``key`` itself."""
    lines = text.splitlines()
    start = next((n for n, s in enumerate(lines) if s.strip().startswith(key)), None)
    if start is None:
        return None
    if value is not None:
        seen = 0
        for n in range(start, len(lines)):
            if n > start and any(lines[n].strip().startswith(k) for k in KEYS):
                break
            seen_here = lines[n].count(f'"{value}"') + lines[n].count(f"'{value}'")
            if seen + seen_here > nth:
                return n + 1
            seen += seen_here
    return start + 1


def _ids(path: Path, text: str, key: str, entry: object, known: set[str], counts: dict[tuple[str, str], int],
         least: int) -> list[str]:
    line = _line(text, key)
    if not isinstance(entry, list) or not all(isinstance(v, str) for v in entry) or len(entry) < least:
        raise InputError(path, f"{key}: each entry must be a list of at least {least} video ids, got {entry!r}",
                         line)
    for v in entry:
        nth = counts.get((key, v), 0)
        counts[(key, v)] = nth + 1
        if v not in known:
            raise InputError(path, f"{key}: {v!r} is not a video of this workspace; expected a video id",
                             _line(text, key, v, nth))
    twice = next((v for n, v in enumerate(entry) if v in entry[:n]), None)
    if key == "different" and twice is not None:  # a video is never a different person from itself
        raise InputError(path, f"different: {twice!r} is listed twice in one entry; expected different videos",
                         _line(text, key, twice, counts[(key, twice)] - 1))
    return list(dict.fromkeys(entry))


def read_corrections(path: Path, known: set[str], previous: dict[str, list[str]]) -> Corrections:
    """Read and check ``path`` (no file: no corrections) against the workspace's videos ``known`` and the last
    run's identities ``previous`` (name → videos)."""
    if not path.exists():
        return Corrections()
    data, text = read_toml(path, "corrections file")
    extra = sorted(set(data) - set(KEYS))
    if extra:
        raise InputError(path, f"unknown key {extra[0]!r}; expected {', '.join(KEYS)}", _line(text, extra[0]))
    for key in KEYS:
        if key in data and not isinstance(data[key], list):
            raise InputError(path, f"{key} must be a list, got {type(data[key]).__name__}", _line(text, key))
    counts: dict[tuple[str, str], int] = {}
    same = [_ids(path, text, "same", e, known, counts, 2) for e in data.get("same", [])]
    different = [_ids(path, text, "different", e, known, counts, 2) for e in data.get("different", [])]
    confirmed = []
    for e in data.get("confirm", []):
        if isinstance(e, str):
            if e not in previous:
                hint = f"; the last run named {', '.join(sorted(previous)[:5])}…" if previous else \
                    "; no identities yet (run `affcurate subjects` first, or confirm a list of video ids)"
                raise InputError(path, f"confirm: no identity {e!r}{hint}", _line(text, "confirm", e))
            members = [v for v in previous[e] if v in known]
        else:
            members = _ids(path, text, "confirm", e, known, counts, 1)
        confirmed.append(frozenset(members))
    out = Corrections(path, list(same), [], confirmed)
    out.groups += [sorted(c) for c in confirmed if len(c) > 1]
    out.apart = [(a, b) for e in different for n, a in enumerate(e) for b in e[n + 1:]]
    _check(out, path, text)
    return out


def _check(c: Corrections, path: Path, text: str) -> None:
    """Refuse a pair that is ``different`` while ``same``/``confirm`` entries join it into one person."""
    parent: dict[str, str] = {}

    def find(v: str) -> str:
        while parent.get(v, v) != v:
            v = parent[v]
        return v

    for g in c.groups:
        for v in g[1:]:
            ra, rb = find(g[0]), find(v)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    for a, b in c.apart:
        if a == b or find(a) == find(b):
            raise InputError(path, f"different: {a!r} and {b!r} are also one person by the same/confirm entries; "
                             "expected one or the other", _line(text, "different", a))
