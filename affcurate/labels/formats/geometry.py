"""The formats that give face geometry with their labels, for ``affcurate faces run --from-labels``: each maps a
file to :class:`affcurate.faces.given.GivenFaces` of its videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from affcurate.faces.given import GivenFaces
from affcurate.labels.formats import ImportContext, afewva, affectnet

GEOMETRY: dict[str, Callable[[Path, ImportContext], list[GivenFaces]]] = {
    "afew-va": afewva.faces,
    "affectnet": affectnet.faces,
}
