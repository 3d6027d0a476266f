"""What one stage's state is made of: counts of done / stale / failed / missing, and why for what is not done."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

STATES = ("done", "stale", "failed", "missing")


def plain(value: Any) -> Any:
    """``value`` as stored in a table's JSON metadata (tuples become lists), so that the two compare."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def settings_changes(stored: dict[str, Any], current: dict[str, Any], section: str) -> list[str]:
    """``faces.crop_size 112 → 96`` for every key recorded in ``stored`` whose value differs now."""
    now = plain(current)
    return [f"{section}.{k} {json.dumps(v)} → {json.dumps(now[k])}" for k, v in sorted(plain(stored).items())
            if k in now and now[k] != v]


def settings_reason(stored: dict[str, Any], current: dict[str, Any], section: str) -> list[str]:
    """``the [labels] settings changed (labels.au_fusion "majority" → "unanimous")``, or nothing."""
    changes = settings_changes(stored, current, section)
    return [f"the [{section}] settings changed ({', '.join(changes)})"] if changes else []


@dataclass
class Tally:
    """The counts of one stage over its items: videos, the workspace (one item), annotation files or runs.

    ``any_done``: the stage is done once one item is (a video without labels, an older run are no work left)."""

    unit: str
    any_done: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    items: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, item: str, state: str, why: str | None = None, error: str | None = None) -> str:
        self.counts[state] += 1
        if state != "done":
            self.items.append({"id": item, "state": state, "why": why, "error": error})
        return state

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def state(self) -> str:
        c = self.counts
        if self.any_done and c["done"]:
            return "done"
        if not sum(c.values()):
            return "missing"
        return next((s for s in ("stale", "missing", "failed") if c[s]), "done")

    def reasons(self) -> list[str]:
        """One line per distinct reason of what is stale or missing (``2 videos stale: …`` for many items)."""
        found = Counter((i["state"], i["why"]) for i in self.items if i["why"] and i["state"] != "failed")
        if self.unit == "workspace":
            return [why for (_, why), _ in found.items()]
        return [f"{n} {self.unit if n > 1 else self.unit.rstrip('s')} {state}: {why}"
                for (state, why), n in found.items()]

    def to_dict(self, command: str) -> dict[str, Any]:
        return {"state": self.state, "unit": self.unit, **self.counts, "why": self.reasons() + self.notes,
                "command": command, "items": self.items}
