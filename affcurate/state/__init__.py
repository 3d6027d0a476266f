"""Where a workspace stands (``affcurate status WS``): per stage what is done, stale, failed or missing, the
failed videos with their errors, the labelled samples per annotator and task, and what to run next.

Stale means that the stage's inputs or settings changed after it ran, judged as the stages' own resume logic
judges it: per video, the done-ledger's key against the key computed now (media: :func:`transcode_key` and the
probe's key of the source file; faces: the faces stage's key, which holds the transcode's key, the [faces]
settings and the subject picked); per workspace, an output older than one of its inputs or made with other
settings than the current ones (see :mod:`affcurate.state.tables`). Nothing is written and no lock is taken, so it
answers while another command is writing.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pyarrow as pa

from affcurate.errors import AffcurateError
from affcurate.labels.model import list_annotations
from affcurate.recipe_stages import STAGES
from affcurate.state import images, tables, videos
from affcurate.state import labelled as counts
from affcurate.state.model import STATES, Tally
from affcurate.workspace import Workspace

__all__ = ["STAGES", "STATES", "status"]

COMMANDS = {
    "ingest": "affcurate ingest {ws}",
    "faces": "affcurate faces run {ws}",
    "subjects": "affcurate subjects {ws}",
    "import": "affcurate import {ws} --format FORMAT FILES",
    "merge": "affcurate merge {ws}",
    "split": "affcurate split {ws}",
    "report": "affcurate report {ws}",
    "train": "affcurate train-baseline {ws}",
}


def _manifest(ws: Workspace) -> Any:
    try:
        return ws.manifest()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise AffcurateError(f"{ws.manifest_path}: not a readable manifest ({' '.join(str(exc).split())})") from None


def _next(stages: dict[str, dict[str, Any]]) -> dict[str, str] | None:
    """The first stage that is missing or stale; failed videos do not hold back the stages after them (a bad
    input never stops the others), so a stage whose only trouble is failures comes next when nothing else does."""
    for name, s in stages.items():
        if s["state"] in ("missing", "stale"):
            return {"stage": name, "command": s["command"], "why": s["why"][0] if s["why"] else s["state"]}
    for name, s in stages.items():
        if s["failed"]:
            return {"stage": name, "command": s["command"],
                    "why": f"{s['failed']} failed: fix what their errors say, then run it again"}
    return None


def status(ws: Workspace | str | Path, shown_as: str | None = None) -> dict[str, Any]:
    """Where the workspace stands, as plain data (what ``affcurate status WS --json`` prints).

    Keys (stable):

    - ``workspace`` (its folder), ``version`` (affcurate's);
    - ``videos``: ``total``, and per manifest status ``ok``, ``error``, ``duplicate``, ``pending`` (videos
      only: the image sets' shards are counted under ``images``);
    - ``images``: the image sets' ``images``, per status ``ok``, ``no_face``, ``error``, ``pending``, and
      ``shards``, ``shards_done`` (all zero without image sets);
    - ``stages``: per stage of the flow, in order (``ingest`` is the media stage: probe and transcode;
      ``faces``, ``subjects``, ``import``, ``merge``, ``split``, ``report``, ``train``): ``state`` (done, stale,
      failed or missing), ``unit`` (what is counted: videos, workspace, runs), ``done``, ``stale``, ``failed``,
      ``missing`` (counts), ``why`` (one line per reason), ``command`` (what runs it) and ``items`` (each one not
      done: ``id``, ``state``, ``why``, ``error``);
    - ``failed``: every failure, ``stage``, ``id`` (video id or file) and ``error`` (one line);
    - ``labelled``: per annotator, task and unit: ``annotator``, ``task``, ``unit``, ``videos``, ``rows`` and
      ``labelled`` (rows that carry at least one value; a row is a sample in the table's own time base, see
      :mod:`affcurate.state.labelled`);
    - ``next``: ``stage``, ``command`` and ``why`` of what to run next, or None when everything is done.

    ``shown_as``: the workspace as the commands should name it (default: its absolute path)."""
    ws = ws if isinstance(ws, Workspace) else Workspace.open(ws)
    from affcurate import __version__

    where = shlex.quote(shown_as or str(ws.root))
    manifest = _manifest(ws) if ws.has_manifest() else None
    shards: list[str] = []
    if manifest is not None and "kind" in manifest.columns:  # the image sets' shards: counted as images
        is_shard = manifest["kind"] == "imageset"
        shards = [str(v) for v in manifest.loc[is_shard & (manifest["status"] == "ok"), "video_id"]]
        manifest = manifest[~is_shard].reset_index(drop=True)
    image_tally, image_counts = images.images(ws)
    listing = list_annotations(ws).to_dict("records")
    labelled, bad = counts.per_annotator(listing)
    if manifest is None or not len(manifest):
        media, faces = Tally("videos"), Tally("videos")
        none = "no videos (image sets only)" if image_tally is not None else "no videos yet"
        media.note(none)
        faces.note(none)
        ok: list[str] = []
        shown = dict.fromkeys(("total", "ok", "error", "duplicate", "pending"), 0)
    else:
        media, state = videos.media(ws, manifest)
        faces = videos.faces(ws, manifest, state)
        ok = [v for v, s in state.items() if s != "failed"]
        shown = {"total": len(manifest), **{k: int((manifest["status"] == k).sum())
                                            for k in ("ok", "error", "duplicate", "pending")}}
    found = {"ingest": media, "faces": faces, "subjects": tables.subjects(ws, ok),
             "import": tables.imported(ws, listing, ok + shards, bad, where), "merge": tables.merge(ws),
             "split": tables.split(ws), "report": tables.report(ws), "train": tables.train(ws)}
    stages = {name: found[name].to_dict(COMMANDS[name].format(ws=where)) for name in STAGES}
    if manifest is None or not len(manifest):
        if image_tally is None:
            stages["ingest"]["command"] += " --videos DIR"
        else:  # nothing of the videos' stages is left to do in a workspace of image sets
            for name in ("ingest", "faces", "subjects"):
                stages[name].update(state="done", missing=0, items=[])
            stages["subjects"]["why"] = ["no videos: each image is its own subject unless its subject column says "
                                         "otherwise"]
    if image_tally is not None:  # after the media stage: `affcurate ingest WS` resumes the image sets
        stages = {**{"ingest": stages["ingest"], "images": image_tally.to_dict(COMMANDS["ingest"].format(ws=where))},
                  **{k: v for k, v in stages.items() if k != "ingest"}}
    # an image that failed is listed under ingest, as a video that failed is
    failed = [{"stage": "ingest" if name == "images" else name, "id": i["id"], "error": i["error"]}
              for name, s in stages.items() for i in s["items"] if i["state"] == "failed"]
    return {"workspace": str(ws.root), "version": __version__, "videos": shown, "images": image_counts,
            "stages": stages,
            "failed": failed, "labelled": labelled, "next": _next(stages)}
