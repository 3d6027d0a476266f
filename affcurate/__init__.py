"""affcurate: curated, labelled, split and benchmarked facial-affect datasets from raw face videos.

Each command has a Python twin of the same name here, taking a :class:`Workspace` first::

    import affcurate
    ws = affcurate.Workspace.init("mydata")
    affcurate.ingest(ws, "raw/")                         # affcurate ingest mydata --videos raw/
    affcurate.ingest_images(ws, "stills/")               # affcurate ingest mydata --images stills/
    affcurate.import_files(ws, "abaw", ["VA_Set/"])     # affcurate import mydata --format abaw VA_Set/
    affcurate.merge(ws)
    affcurate.split(ws, train=0.8, test=0.2)
    affcurate.report(ws)
    affcurate.train_baseline(ws, models=("prior", "linear"))

The names load their modules on first use, so ``import affcurate`` stays light (torch loads with the trainer).
"""

from __future__ import annotations

import importlib
from typing import Any

from affcurate.errors import AffcurateError, InputError
from affcurate.workspace import Workspace

__version__ = "0.1.0"

# name -> (module, attribute): the stage functions and the two table types
_LAZY = {
    "ingest": ("affcurate.flow", "ingest"),
    "ingest_media": ("affcurate.media.ingest", "ingest_media"),
    "ingest_images": ("affcurate.imagesets.stage", "ingest_images"),
    "find_faces": ("affcurate.faces.stage", "find_faces"),
    "pick_subject": ("affcurate.faces.stage", "pick"),
    "subjects": ("affcurate.identity.stage", "subjects"),
    "import_files": ("affcurate.labels.formats", "import_files"),
    "export": ("affcurate.labels.formats", "export"),
    "export_hf": ("affcurate.exports", "export_hf"),
    "WorkspaceDataset": ("affcurate.torchdata", "WorkspaceDataset"),
    "merge": ("affcurate.labels.merge", "merge"),
    "split": ("affcurate.splits.stage", "split"),
    "check_split": ("affcurate.splits.check", "check"),
    "adopt_split": ("affcurate.splits.adopt", "adopt"),
    "report": ("affcurate.reporting", "report"),
    "train_baseline": ("affcurate.train.runner", "train_baseline"),
    "predict": ("affcurate.train.predict", "predict"),
    "run": ("affcurate.recipe", "run"),
    "status": ("affcurate.state", "status"),
    "FaceTracks": ("affcurate.faces.table", "FaceTracks"),
    "LabelTable": ("affcurate.labels.table", "LabelTable"),
}

__all__ = ["AffcurateError", "InputError", "Workspace", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'affcurate' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
