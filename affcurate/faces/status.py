"""The faces stage's own table, ``faces.parquet`` at the workspace root: one row per video with the stage's
outcome, its subject track and the subject picked by hand (``affcurate faces pick``).

Only the faces stage writes it (atomically); the manifest stays the media stage's table. A workspace made before
this table existed kept ``faces_status``/``faces_error`` (and a pick as ``target_track``) in the manifest: those
are read as a fallback for the videos the table does not hold yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from affcurate import io
from affcurate.workspace import Workspace

COLUMNS: dict[str, str] = {
    "video_id": "string", "faces_status": "string", "faces_error": "string", "n_frames": "Int64",
    "n_detections": "Int64", "n_tracks": "Int64", "target_track": "Int64", "target_frames": "Int64",
    "bad_frames": "Int64", "picked_track": "Int64", "given_subject": "string",
}
# what the manifest shows of this table (read by users and `affcurate ingest` as before)
SHOWN = ("faces_status", "faces_error")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c, dtype in COLUMNS.items():
        if c not in df.columns:
            df[c] = None
        # object first: an all-missing column read back from parquet may carry a null type
        df[c] = df[c].astype(object).astype(dtype) if dtype == "string" else pd.to_numeric(df[c]).astype(dtype)
    return df[list(COLUMNS)].reset_index(drop=True)


def read_status(ws: Workspace) -> pd.DataFrame:
    """The table (empty when the stage has not run), one row per video it has seen."""
    if not ws.faces_status_path.exists():
        return _typed(pd.DataFrame(columns=list(COLUMNS)))
    return _typed(io.read_parquet(ws.faces_status_path))


def record(ws: Workspace, rows: Iterable[dict[str, Any]]) -> None:
    """Store the stage's outcome of these videos (a summary row of :func:`affcurate.faces.stage.find_faces` each);
    the other videos' rows and every pick stay."""
    figures = ("n_frames", "n_detections", "n_tracks", "target_track", "target_frames", "bad_frames", "given_subject")
    # a failed video's figures would be those of an older run: none are kept
    new = pd.DataFrame([{"video_id": r["video_id"], "faces_status": r.get("status"), "faces_error": r.get("error"),
                         **{c: None if r.get("status") == "error" else r.get(c) for c in figures}} for r in rows],
                       columns=[c for c in COLUMNS if c != "picked_track"])
    old = read_status(ws).set_index("video_id")
    new = new.drop_duplicates("video_id", keep="last").set_index("video_id")
    new["picked_track"] = new.index.map(old["picked_track"])
    _write(ws, pd.concat([old.drop(index=new.index, errors="ignore"), new]))


def _write(ws: Workspace, table: pd.DataFrame) -> None:
    io.write_parquet(_typed(table.rename_axis("video_id").reset_index()), ws.faces_status_path)


def record_pick(ws: Workspace, video_id: str, track: int) -> None:
    """Store ``track`` as the subject of ``video_id`` chosen by hand."""
    table = read_status(ws).set_index("video_id")
    table.loc[video_id, "picked_track"] = track
    _write(ws, table)


def subject_choices(ws: Workspace, video_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per video, the subject's ``override`` track (picked by hand, else the list's ``target_track``) and its
    ``side`` (when no track is given), from one read of this table and the manifest."""
    table = read_status(ws).set_index("video_id")
    m = ws.manifest(with_faces=False).set_index("video_id")
    out = {}
    for vid in video_ids:
        override = None
        if vid in table.index and not pd.isna(table.loc[vid, "picked_track"]):
            override = int(table.loc[vid, "picked_track"])
        elif vid in m.index and "target_track" in m.columns and not pd.isna(m.loc[vid, "target_track"]):
            override = int(m.loc[vid, "target_track"])
        side = None
        if override is None and vid in m.index and "target_side" in m.columns and not pd.isna(m.loc[vid, "target_side"]):
            side = str(m.loc[vid, "target_side"])
        out[vid] = {"override": override, "side": side}
    return out


def with_faces_status(ws: Workspace, manifest: pd.DataFrame) -> pd.DataFrame:
    """``manifest`` with each video's ``faces_status`` and ``faces_error`` from this table, its ``subject`` where
    the manifest has none and the faces were given with an actor, and ``target_track`` as picked by hand (the manifest's own where nothing was picked); a video the table lacks keeps what an older
    manifest holds."""
    if not ws.faces_status_path.exists():
        return manifest
    table = read_status(ws).set_index("video_id")
    m = manifest.copy()
    held = m["video_id"].isin(table.index).to_numpy()
    for c in SHOWN:
        ours = m["video_id"].map(table[c]).astype(object)
        before = m[c].astype(object) if c in m.columns else pd.Series(None, index=m.index, dtype=object)
        m[c] = ours.where(held, before).astype("string")
    given = m["video_id"].map(table["given_subject"]).astype(object)
    if given.notna().any():  # the actor a dataset names with its faces, where the list named no subject
        m["subject"] = m["subject"].astype(object).where(m["subject"].notna(), given).astype("string")
    if "target_track" in m.columns:
        picked = m["video_id"].map(table["picked_track"])
        m["target_track"] = picked.astype("Int64").fillna(m["target_track"].astype("Int64"))
    return m
