"""The workspace: one folder per dataset, its paths, its settings, and the per-video done-ledger."""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, StageMissingError
from affcurate.lock import writer_lock
from affcurate.names import check_name, safe_name
from affcurate.settings import Settings, load_settings, settings_toml

SETTINGS_FILE = "affcurate.toml"


def validate_video_id(video_id: str) -> str:
    """Return ``video_id`` if it is safe as a file name, else raise a clear error."""
    return check_name(video_id, "video id")


def safe_video_id(name: str) -> str:
    """A valid video id derived from a file name (separators and odd characters become '_')."""
    return safe_name(name, "video")


@dataclass(frozen=True)
class Workspace:
    root: Path

    # ---- creation -------------------------------------------------------------------------------
    @classmethod
    def init(cls, root: str | Path, settings: Settings | None = None, exist_ok: bool = True) -> Workspace:
        root = Path(root)
        path = root / SETTINGS_FILE
        if path.exists():
            if not exist_ok:
                raise AffcurateError(f"{path}: a workspace already exists here")
            return cls.open(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # an unwritable parent, a file in the way: one line, not a traceback
            raise AffcurateError(f"{root}: cannot create the workspace folder ({exc.strerror or exc})") from None
        with writer_lock(root, "affcurate init"):
            if not path.exists():  # another writer may have made it since the check above
                io.write_text(path, settings_toml(settings or Settings()))
        return cls.open(root)

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        root = Path(root)
        if not (root / SETTINGS_FILE).exists():
            raise AffcurateError(f"{root}: not an affcurate workspace (no {SETTINGS_FILE}); run `affcurate init {root}`")
        ws = cls(root.resolve())
        _ = ws.settings  # validate once, now
        return ws

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.root / SETTINGS_FILE)

    def writing(self, command: str, wait: float = 0.0) -> AbstractContextManager[None]:
        """The writer lock of this workspace, held by ``command`` for a ``with`` block (see affcurate.lock)."""
        return writer_lock(self.root, command, wait)

    def save_settings(self, settings: Settings) -> None:
        with self.writing("affcurate settings"):
            io.write_text(self.root / SETTINGS_FILE, settings_toml(settings))
        self.__dict__.pop("settings", None)

    # ---- paths ------------------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def labels_path(self) -> Path:
        return self.root / "labels.parquet"

    @property
    def splits_path(self) -> Path:
        return self.root / "splits.parquet"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def annotations_dir(self) -> Path:
        return self.root / "annotations"

    @property
    def faces_status_path(self) -> Path:
        """The faces stage's own table: one row per video (outcome, subject track, the subject picked by hand)."""
        return self.root / "faces.parquet"

    @property
    def images_path(self) -> Path:
        """One row per still image of the image sets (:mod:`affcurate.imagesets.table`)."""
        return self.root / "images.parquet"

    @property
    def state_dir(self) -> Path:
        return self.root / ".affcurate"

    def video_path(self, video_id: str) -> Path:
        return self.root / "videos" / f"{validate_video_id(video_id)}.mp4"

    def frames_path(self, video_id: str) -> Path:
        return self.root / "frames" / f"{validate_video_id(video_id)}.parquet"

    def faces_path(self, video_id: str) -> Path:
        return self.root / "faces" / f"{validate_video_id(video_id)}.parquet"

    def crops_path(self, video_id: str) -> Path:
        return self.root / "crops" / f"{validate_video_id(video_id)}.h5"

    def annotation_path(self, annotator: str, task: str, video_id: str) -> Path:
        return self.annotations_dir / annotator / task / f"{validate_video_id(video_id)}.parquet"

    # ---- tables -----------------------------------------------------------------------------------
    def has_manifest(self) -> bool:
        return self.manifest_path.exists() or self.images_path.exists()

    def manifest(self, with_faces: bool = True) -> pd.DataFrame:
        """One row per source video. ``with_faces`` (what users and the later stages read) joins each video's
        outcome from the faces stage's own table: ``faces_status``, ``faces_error``, and ``target_track`` as
        picked by hand, and adds one row per shard of the image sets (``kind`` imageset: a video whose frame i
        is image i of the shard; see :mod:`affcurate.imagesets`). The media stage reads and writes the manifest as
        stored (``with_faces=False``): videos only."""
        if not self.has_manifest():
            raise StageMissingError(f"{self.manifest_path}", f"affcurate ingest {self.root} --videos DIR")
        if not self.manifest_path.exists():  # image sets only
            from affcurate.media.manifest import empty_manifest

            manifest = empty_manifest()
        else:
            manifest = io.read_parquet(self.manifest_path)
        if not with_faces:
            return manifest
        from affcurate.faces.status import with_faces_status  # a later stage's table, joined for reading only

        manifest = with_faces_status(self, manifest)
        if not self.images_path.exists():
            return manifest
        from affcurate.imagesets.table import shard_rows  # the image sets' shards, as videos
        from affcurate.media.manifest import normalise

        shards = shard_rows(self)
        if shards.empty:
            return manifest
        both = pd.concat([manifest.astype(object), shards.astype(object)], ignore_index=True)
        out = normalise(both)
        for c in ("faces_status", "faces_error", "image_set"):
            out[c] = out[c].astype(object).astype("string")
        out["images"] = pd.to_numeric(out["images"]).astype("Int64")
        return out

    def shard_ids(self, status: str | None = "ok") -> list[str]:
        """Ids of the image sets' shards (each a video to the later stages), by default those whose files are
        written."""
        if not self.images_path.exists():
            return []
        from affcurate.imagesets.table import shard_rows

        rows = shard_rows(self)
        return [str(v) for v, st in zip(rows["video_id"], rows["status"], strict=True) if status in (None, st)]

    def write_manifest(self, df: pd.DataFrame) -> None:
        io.write_parquet(df, self.manifest_path)

    def video_ids(self, status: str | None = "ok") -> list[str]:
        """Ids of the videos in the manifest, by default only those that were ingested successfully (the
        shards of image sets are :meth:`shard_ids`: they have no 30 fps video to decode)."""
        df = self.manifest(with_faces=False)
        if status is not None:
            df = df[df["status"] == status]
        return df["video_id"].tolist()

    def frame_map(self, video_id: str) -> pd.DataFrame:
        path = self.frames_path(video_id)
        if not path.exists():
            raise StageMissingError(f"frame map of {video_id}", f"affcurate ingest {self.root}")
        return io.read_parquet(path)

    # ---- the done-ledger ----------------------------------------------------------------------------
    def _ledger_path(self, stage: str, video_id: str) -> Path:
        return self.state_dir / "done" / stage / f"{validate_video_id(video_id)}.json"

    def ledger(self, stage: str, video_id: str, key: str | None = None) -> dict[str, Any] | None:
        """What a finished per-video stage recorded, or None if it has not finished (or, given ``key``, if it
        finished with other inputs or settings)."""
        path = self._ledger_path(stage, video_id)
        if not path.exists():
            return None
        try:
            entry = io.read_json(path)
        except ValueError:
            return None
        return entry if key is None or entry.get("key") == key else None

    def is_done(self, stage: str, video_id: str, key: str) -> bool:
        return self.ledger(stage, video_id, key) is not None

    def mark_done(self, stage: str, video_id: str, key: str, **info: Any) -> None:
        io.write_json(self._ledger_path(stage, video_id), {"key": key, **info})

    def clear_done(self, stage: str, video_id: str) -> None:
        self._ledger_path(stage, video_id).unlink(missing_ok=True)


def stage_key(*parts: Any) -> str:
    """A short stable hash of what a stage's output depends on."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]
