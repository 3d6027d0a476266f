"""The image-set stage (``affcurate ingest WS --images DIR_OR_LIST``): still images → ``images.parquet`` → per
shard, decode, detect, align and crop (:mod:`affcurate.imagesets.shard`).

Shards run on the executor like videos (in this process by default, ``--jobs N`` for a pool, Ray when asked); a
shard whose done-ledger key (its images' paths, sizes and times, the faces settings, the faces given) matches is
skipped. ``images.parquet`` is written before the first shard and again as shards finish, and its rows are read
back from the shards' ledgers on every run, so a kill loses at most the shards in progress.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress, current_progress, map_items
from affcurate.faces.given import GivenFaces
from affcurate.imagesets import sources
from affcurate.imagesets.lookup import ImageNames
from affcurate.imagesets.shard import process_shard
from affcurate.imagesets.table import STAGE, read_images, typed, with_shard_results, write_images
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace, stage_key

KEY_VERSION = "imageset-1"
SUMMARY_COLUMNS = ["shard", "images", "ok", "no_face", "error", "seconds", "skipped", "shard_error"]


@dataclass
class ImageSetResult:
    """What one run did: the rows of the images it covered (one per image) and one summary row per shard."""

    images: pd.DataFrame
    summary: pd.DataFrame

    @property
    def n_failed(self) -> int:
        """Images that failed (a corrupt file, or a shard that could not be written)."""
        return int((self.images["status"] == "error").sum())


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def shard_key(ws: Workspace, paths: list[tuple[int, str]], given: dict[int, GivenFaces]) -> str:
    """What a shard's files depend on: its images (path, size, time), the faces settings, the faces given."""
    s = ws.settings
    return stage_key(KEY_VERSION, [(i, p, _stat(p)) for i, p in paths], s.ingest.fps,
                     json.dumps(s.faces.__dict__, sort_keys=True, default=list),
                     sorted((i, g.key()) for i, g in given.items()))


def _items(ws: Workspace, images: pd.DataFrame, shards: list[str], given: dict[str, GivenFaces]) -> list[dict[str, Any]]:
    items = []
    groups = images.groupby("shard", sort=False).indices
    for shard in shards:
        part = images.iloc[groups[shard]].sort_values("index")
        paths = [(int(i), str(p)) for i, p in zip(part["index"], part["path"], strict=True)]
        g = {int(i): given[v] for i, v in zip(part["index"], part["image_id"].astype(str), strict=True)
             if v in given}
        items.append({"ws_root": str(ws.root), "shard": shard, "key": shard_key(ws, paths, g), "images": paths,
                      "n": int(part["index"].max()) + 1, "given": g})
    return items


def _given_by_id(table: pd.DataFrame, given: dict[str, GivenFaces]) -> dict[str, GivenFaces]:
    """The given faces by image id; a dataset names its images by file name or path (AffectNet's
    ``subDirectory_filePath``), and the names that are no image of the workspace are left out."""
    if not given:
        return {}
    names = ImageNames(table)
    out = {}
    for name, g in given.items():
        vid = names.find(name)
        if vid is not None:
            out[vid] = g
    return out


def _check_ids(ws: Workspace, images: pd.DataFrame) -> None:
    """Shards become video ids: none may be a video's already."""
    if not ws.has_manifest():
        return
    clash = sorted(set(images["shard"].astype(str)) & set(ws.video_ids(status=None)))
    if clash:
        raise AffcurateError(f"shard {clash[0]} of image set {clash[0].rsplit('-', 1)[0]} is the id of a video "
                             "in the manifest; name the set otherwise with --set NAME")


@writes_workspace("affcurate ingest")
def ingest_images(ws: Workspace, images: str | Path | None = None, *, set_name: str | None = None,
                  subject_from: str | None = None, label_from_folder: bool = False,
                  shard_size: int = sources.SHARD_SIZE, given: dict[str, GivenFaces] | None = None,
                  spec: ExecutorSpec | None = None, progress: Progress | None = None) -> ImageSetResult:
    """Add the still images of ``images`` (a folder, recursively, or a CSV list with a ``path`` column) as an
    image set and process its shards; with no ``images``, resume every image set of the workspace. ``given``:
    faces a dataset gives (by image id, file name or path → :class:`GivenFaces`), used instead of detection for
    those images."""
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    progress = progress or current_progress()
    table = with_shard_results(read_images(ws), ws)
    if images is not None:
        source = sources.source_of(images, set_name)
        table = sources.plan(source, sources.scan(source), table, subject_from, label_from_folder, shard_size)
        sets = [source.name]
    elif table.empty:
        raise AffcurateError(f"{ws.root}: no image sets yet; give --images DIR_OR_LIST")
    else:
        sets = sorted(table["set"].dropna().astype(str).unique())
    _check_ids(ws, table)
    given = _given_by_id(table, given or {})
    ours = table[table["set"].isin(sets)]
    shards = sorted(ours["shard"].astype(str).unique())
    items = _items(ws, table, shards, given)
    write_images(ws, table)  # every input is read and checked: the pending rows come first
    total = len(ours)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        progress("images", min(done[0], total), total)

    progress("images", 0, total)
    in_process = spec.kind == "local" and (spec.jobs == 1 or len(items) <= 1)
    for item in items:  # the cores a shard's threads may take
        item["workers"] = 1 if in_process or spec.kind != "local" else min(spec.jobs, len(items))
    work = partial(process_shard, on_images=advance) if in_process else process_shard
    summary, last_write = [], time.monotonic()
    for res in map_items(work, items, spec, "shards", progress):
        shard = res.item["shard"]
        if res.error:
            rows = table["shard"] == shard
            table.loc[rows, ["status", "error"]] = ["error", f"shard {shard} failed: {res.error}"]
        else:
            table = with_shard_results(table, ws, [shard], {shard: res.value["images"]})
        if not in_process:
            advance(len(res.item["images"]))
        summary.append(_summary_row(table, shard, res.value, res.error))
        if time.monotonic() - last_write > 10:  # the ledgers hold the truth; this keeps the table near it
            write_images(ws, table)
            last_write = time.monotonic()
    write_images(ws, table)
    order = {s: i for i, s in enumerate(shards)}
    df = pd.DataFrame(summary, columns=SUMMARY_COLUMNS).sort_values("shard", key=lambda s: s.map(order))
    return ImageSetResult(typed(table[table["set"].isin(sets)]), df.reset_index(drop=True))


def _summary_row(table: pd.DataFrame, shard: str, value: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    part = table[table["shard"] == shard]
    counts = part["status"].value_counts()
    return {"shard": shard, "images": len(part), "ok": int(counts.get("ok", 0)),
            "no_face": int(counts.get("no_face", 0)), "error": int(counts.get("error", 0)),
            "seconds": None if value is None else value.get("seconds"),
            "skipped": bool(value and value.get("skipped")), "shard_error": error}


def shards_of(ws: Workspace) -> list[str]:
    """The shards whose files are written (the image sets' "videos")."""
    table = read_images(ws)
    return [s for s in sorted(table["shard"].dropna().astype(str).unique()) if ws.ledger(STAGE, s) is not None]
