"""Where the image sets stand: their images by status (ok, no face, error, pending) and their shards written, from
``images.parquet`` and the shards' done-ledgers (:func:`affcurate.imagesets.table.image_counts`)."""

from __future__ import annotations

from typing import Any

from affcurate.state.model import Tally
from affcurate.state.videos import faces_changes
from affcurate.workspace import Workspace

KEYS = ("images", "ok", "no_face", "error", "pending", "shards", "shards_done")


def images(ws: Workspace) -> tuple[Tally | None, dict[str, int]]:
    """The images stage (None when the workspace has no image set) and its counts (zeros when it has none).

    An image is done once its shard is written (ok or no face), stale when its shard was written with other
    ``[faces]`` settings, failed when it could not be read (or its shard could not be written), missing while its
    shard is still to be processed."""
    if not ws.images_path.exists():
        return None, dict.fromkeys(KEYS, 0)
    from affcurate.imagesets.table import image_counts

    c = image_counts(ws)
    tally = Tally("images")
    # a shard written with other [faces] settings than today's: its images are to be done again (ingest redoes it)
    stale = {shard: (n, changes) for shard, n in c["done_by_shard"].items() if (changes := faces_changes(ws, shard))}
    n_stale = sum(n for n, _ in stale.values())
    # counted in bulk, not image by image: a set may hold hundreds of thousands of images
    tally.counts.update(done=c["ok"] + c["no_face"] - n_stale, stale=n_stale, failed=c["error"],
                        missing=c["pending"])
    tally.items = [{"id": f["id"], "state": "failed", "why": None, "error": f["error"]} for f in c["failed"]]
    tally.items += [{"id": shard, "state": "stale", "why": None, "error": None} for shard in stale]
    by_change: dict[tuple[str, ...], list[int]] = {}  # one line per set of changed settings
    for n, changes in stale.values():
        by_change.setdefault(tuple(changes), []).append(n)
    for changes, sizes in sorted(by_change.items()):
        n, shards = sum(sizes), len(sizes)
        tally.note(f"{n} image{'s' if n != 1 else ''} in {shards} shard{'s' if shards != 1 else ''} stale: "
                   f"the [faces] settings changed ({', '.join(changes)})")
    left = c["shards"] - c["shards_done"]
    if c["pending"]:
        tally.note(f"{c['pending']} images in {left} shard{'s' if left != 1 else ''} not processed yet")
    if c["no_face"]:
        tally.note(f"{c['no_face']} image{'s' if c['no_face'] != 1 else ''} with no face found")
    return tally, {k: int(c[k]) for k in KEYS}


def line(counts: dict[str, Any]) -> str | None:
    """``12 images in 2 shards (2 written): 10 ok, 1 no face, 1 failed, 0 pending``, or None without image sets."""
    if not counts.get("images"):
        return None
    return (f"{counts['images']} images in {counts['shards']} image-set shards ({counts['shards_done']} written): "
            f"{counts['ok']} ok, {counts['no_face']} no face, {counts['error']} failed, {counts['pending']} pending")
