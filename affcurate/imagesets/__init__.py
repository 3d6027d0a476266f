"""Image sets: still images, each a sample of its own (AffectNet, RAF-DB, FER), ingested without a video per image.

The design, in one place:

- ``images.parquet`` (:mod:`.table`) has one row per image: its id, source path, set, ``shard`` and ``index``,
  subject, label, metadata, and its own ``status`` (ok, no_face, error) with a one-line ``error``.
- The images are stored in shards of at most 1,000 (``--shard-size``). A shard is a video to every later stage:
  frame ``i`` of shard ``S`` is image ``i`` of ``S``, on a one-frame-per-image grid. Each shard has the files of a
  video, in the same layout (``frames/S.parquet``, ``faces/S.parquet``, ``crops/S.h5``) and one done-ledger entry,
  so merge, report, train, export and :class:`~affcurate.faces.crops.CropReader` read it as they read a video;
  there is no ``videos/S.mp4``. ``Workspace.manifest()`` lists each shard as a row of ``kind`` imageset (the
  stored ``manifest.parquet`` stays the media stage's, videos only).
- Labels land on shards: an AffectNet CSV's row for an image becomes frame ``index`` of that image's shard
  (:mod:`affcurate.labels.formats.affectnet`).
- Each image is its own sample and its own subject unless its ``subject`` says otherwise: a split assigns images,
  not shards (:mod:`affcurate.imagesets.samples`).
- Per shard (:mod:`.shard`): decode with OpenCV in a thread pool, batched detection sized for images that are
  mostly face already (:mod:`.detect`), or the faces the dataset gives; the subject is the largest, most central
  face; aligned crops as for videos. A corrupt image is an error row; its shard finishes. Shards are written
  atomically and marked done together with their images' rows, so a killed run redoes only the unfinished ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from affcurate.faces.given import GivenFaces
    from affcurate.workspace import Workspace

__all__ = ["ImageSetResult", "ingest_images", "read_given_faces"]


def __getattr__(name: str) -> Any:
    # the stage (OpenCV, the detector) loads when it is used, not when a split reads its tables
    if name in ("ImageSetResult", "ingest_images"):
        from affcurate.imagesets import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'affcurate.imagesets' has no attribute {name!r}")


def read_given_faces(ws: Workspace, paths: list[Path]) -> dict[str, GivenFaces]:
    """The faces AffectNet CSVs give, by the image path each names (``subDirectory_filePath``)."""
    if not paths:
        return {}
    from affcurate.labels.formats import ImportContext
    from affcurate.labels.formats.affectnet import faces_by_name

    ctx = ImportContext(ws)
    out: dict[str, GivenFaces] = {}
    for p in paths:
        out.update(faces_by_name(Path(p), ctx))
    return out
