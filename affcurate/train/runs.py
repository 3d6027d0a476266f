"""The run folder under ``runs/``: its name, what it was trained with, and whether a new call may go on in it.

A run folder holds the results of one set of settings on one version of the labels and splits. Calling the
trainer again with the same name and the same of both resumes it; with anything else it is refused (or, when
asked, the old run is removed and the run starts fresh), so old metrics never sit under a new config.json.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from affcurate.errors import AffcurateError
from affcurate.lock import TEMP_RE
from affcurate.media.probe import file_sha256
from affcurate.train import checkpoint
from affcurate.train.checkpoint import DamagedFile
from affcurate.workspace import Workspace, stage_key

# what the numbers of a run depend on; `workers` only changes how fast the crops are read
IDENTITY = ("models", "tasks", "epochs", "seed", "batch_size", "lr", "window", "input_size", "va_bins", "folds",
            "validation", "backbone", "backbone_sha256", "trainer", "data")
# settings added later, and what a run that does not record them was trained with
DEFAULTS: dict[str, Any] = {"va_bins": 0, "folds": 0, "validation": True, "backbone": None, "backbone_sha256": None,
                            "trainer": 1}
TRAINER = 2
"""How the baselines are trained, raised when the same settings give other numbers (2: each video batch-normalised
by its own statistics, VA loss 1 − CCC plus the squared error); a run of another trainer is not resumed."""


def _value(config: dict[str, Any], key: str) -> Any:
    return config.get(key, DEFAULTS.get(key))


def data_key(ws: Workspace) -> dict[str, str]:
    """Content hashes of the labels and splits the run is trained on (a copied workspace keeps them)."""
    return {p.name: file_sha256(p)[:16] for p in (ws.labels_path, ws.splits_path) if p.exists()}


def run_dir(ws: Workspace, name: str | None, config: dict[str, Any], data: dict[str, str]) -> Path:
    """``runs/<name>``, or a name derived from the settings and the data, so the same call resumes (settings
    at their :data:`DEFAULTS` leave the name as it was before they existed)."""
    named = {k: v for k, v in config.items() if k not in DEFAULTS or v != DEFAULTS[k]}
    return ws.runs_dir / (name or f"baseline-{stage_key(named, data)[:10]}")


def _show(value: Any) -> str:
    if value is None:
        return "(not recorded)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``epochs 2 → 3``-style lines for every setting of :data:`IDENTITY` that differs."""
    out = []
    for key in IDENTITY:
        if _value(old, key) == _value(new, key):
            continue
        if key == "data":
            out.append("labels.parquet or splits.parquet changed since" if old.get(key) else
                       "the labels and splits it used are not recorded")
        else:
            out.append(f"{key} {_show(_value(old, key))} → {_show(_value(new, key))}")
    return out


def claim(ws: Workspace, run: Path, config: dict[str, Any], overwrite: bool) -> None:
    """Make ``run`` usable for ``config``: absent or the same settings (resume); otherwise refuse in one line,
    or with ``overwrite`` remove the old run first. Holding the writer lock is the caller's duty."""
    _remove_stale(ws.runs_dir)
    if run.exists() and not run.is_dir():
        raise AffcurateError(f"{run} is in the way: a file where the run folder would be; use another --name")
    if not run.exists() or not any(run.iterdir()):
        return
    if not overwrite:
        hint = f"use another --name or --overwrite to replace {run}"
        try:
            old = checkpoint.read_json(run / "config.json")
        except DamagedFile as exc:
            raise AffcurateError(f"run {run.name} exists but {exc}; {hint}") from None
        diff = differences(old, config)
        if diff:
            raise AffcurateError(f"run {run.name} exists with other settings: {'; '.join(diff)}; {hint}")
        return
    # one rename takes the old run away whole; deleting it after cannot leave half a run under the name
    gone = run.with_name(f".{run.name}.~{os.getpid()}~replaced")
    os.replace(run, gone)
    shutil.rmtree(gone, ignore_errors=True)


def _remove_stale(runs: Path) -> None:
    """Old runs a killed ``--overwrite`` was deleting. Under the writer lock no other trainer is at work."""
    if runs.is_dir():
        for p in runs.iterdir():
            if p.is_dir() and TEMP_RE.match(p.name):
                shutil.rmtree(p, ignore_errors=True)
