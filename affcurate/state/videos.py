"""Where the per-video stages stand (media, faces): each video's done-ledger entry against the key that the
stage's own resume logic computes now from the current settings and inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from affcurate import io
from affcurate.media.ingest import transcode_key
from affcurate.media.probe import image_files
from affcurate.media.transcode import TranscodeOptions
from affcurate.state.model import Tally, settings_changes
from affcurate.workspace import Workspace, stage_key


def _text(value: Any) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def _source_changed(ws: Workspace, vid: str, path: Path, kind: str, image_fps: float) -> bool:
    """The probe's ledger key (source path, kind, size and time) no longer matches the file: ingest probes and
    hashes it again (and transcodes it again if its content changed). A missing source is left to ingest."""
    try:
        if kind == "images":
            stat_key: Any = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in image_files(path)]
        else:
            st = path.stat()
            stat_key = (st.st_size, st.st_mtime_ns)
    except OSError:
        return False
    entry = ws.ledger("probe", vid)
    return entry is not None and entry.get("key") != stage_key(str(path), kind, stat_key, image_fps)


def media(ws: Workspace, manifest: pd.DataFrame) -> tuple[Tally, dict[str, str]]:
    """The media stage (probe, transcode) per video, and each video's state (for the faces stage after it)."""
    s = ws.settings.ingest
    options = TranscodeOptions.from_settings(s)
    image_fps = float(s.image_fps or s.fps)  # what `affcurate ingest` uses without --image-fps
    tally, state = Tally("videos"), {}
    for r in manifest.to_dict("records"):
        vid, status = str(r["video_id"]), str(r["status"])
        if status == "duplicate":
            tally.note(f"{vid} is a duplicate of {_text(r.get('duplicate_of'))}: not processed")
            continue
        if status == "error":
            state[vid] = tally.add(vid, "failed", error=_text(r.get("error")) or "failed (no reason recorded)")
            continue
        entry = ws.ledger("transcode", vid)
        if status != "ok" or entry is None or not (ws.video_path(vid).exists() and ws.frames_path(vid).exists()):
            state[vid] = tally.add(vid, "missing", "not transcoded yet")
            continue
        row = {"sha256": str(r["sha256"]), "kind": str(r["kind"])}
        if entry.get("key") != transcode_key(row, options, image_fps):
            state[vid] = tally.add(vid, "stale", "the [ingest] settings changed since the transcode")
        elif _source_changed(ws, vid, Path(str(r["path"])), row["kind"], image_fps):
            state[vid] = tally.add(vid, "stale", "the source file changed since the probe")
        else:
            state[vid] = tally.add(vid, "done")
    return tally, state


def faces_changes(ws: Workspace, vid: str) -> list[str]:
    """The ``[faces]`` settings that differ from those a video's (or an image shard's) faces table was made with."""
    try:
        stored = io.parquet_metadata(ws.faces_path(vid)).get("settings") or {}
    except (OSError, ValueError):
        return []
    return settings_changes(stored, ws.settings.faces.__dict__, "faces")


def faces(ws: Workspace, manifest: pd.DataFrame, media_state: dict[str, str]) -> Tally:
    """The faces stage per video that the media stage did not fail or skip."""
    tally = Tally("videos")
    ids = [v for v, st in media_state.items() if st != "failed"]
    if not ids:
        return tally
    # the stage's own key function and subject choices: what `affcurate faces run` compares with the ledger
    from affcurate.faces.stage import _faces_key
    from affcurate.faces.status import subject_choices

    choice = subject_choices(ws, ids)
    rows = manifest.set_index("video_id")
    settings = ws.settings.faces
    for vid in ids:
        error = _text(rows.loc[vid].get("faces_error")) if "faces_status" in rows.columns else None
        if "faces_status" in rows.columns and _text(rows.loc[vid, "faces_status"]) == "error":
            tally.add(vid, "failed", error=error or "failed (no reason recorded)")
            continue
        entry = ws.ledger("faces", vid)
        if media_state[vid] == "missing" or entry is None or not (ws.faces_path(vid).exists()
                                                                  and ws.crops_path(vid).exists()):
            tally.add(vid, "missing", "no faces yet")
            continue
        if "given_subject" in entry:  # faces a dataset gave: their files are outside, only the settings are checked
            changes = faces_changes(ws, vid)
            stale = bool(changes)
        else:
            stale = entry.get("key") != _faces_key(ws, vid, settings, choice[vid]["override"], choice[vid]["side"])
            changes = faces_changes(ws, vid) if stale else []  # which settings, to say why
        if stale:
            tally.add(vid, "stale", (f"the [faces] settings changed ({', '.join(changes)})" if changes else
                                     "the subject was picked again or the video changed"))
        elif media_state[vid] == "stale":
            tally.add(vid, "stale", "the video is to be transcoded again (ingest is stale)")
        else:
            tally.add(vid, "done")
    return tally
