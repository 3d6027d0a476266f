"""The media stage: sources → manifest → probe → constant-fps transcode with frame maps (`affcurate ingest
--no-faces`; :func:`affcurate.flow.ingest` runs the faces stage after it).

Per-video work is keyed in the workspace's done-ledger by the input's hash and the stage's settings, so a rerun
skips what is done and redoes what changed; a bad video gets ``status=error`` and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, ItemResult, Progress, current_progress, map_items
from affcurate.lock import writes_workspace
from affcurate.media import manifest as mf
from affcurate.media.later import Fed, LaterStage
from affcurate.media.probe import file_sha256, folder_sha256, image_files, probe_images, probe_video
from affcurate.media.transcode import TranscodeOptions, output_size, transcode
from affcurate.workspace import Workspace, stage_key

PROBE_FACTS = ["sha256", "size", "container", "codec", "width", "height", "rotation", "avg_fps", "real_fps",
               "duration", "n_frames", "vfr", "has_audio"]


@dataclass
class MediaResult:
    """What one run of the media stage did: the manifest after it and one summary row per video."""

    manifest: pd.DataFrame
    summary: pd.DataFrame  # video_id, status, out_frames, seconds, skipped, error
    skipped: list[str] = field(default_factory=list)  # entries of --videos not followed, each with its reason
    later: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per video given to ``frames_to``: the later stage's outcome, ``{"value": ...}`` or ``{"error": ...}``."""

    @property
    def failed(self) -> pd.Series:
        """Per summary row: did the video fail, in probing or transcoding."""
        return self.summary["status"] == "error"

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())


def _image_fps(ws: Workspace, image_fps: float | None) -> float:
    return float(image_fps or ws.settings.ingest.image_fps or ws.settings.ingest.fps)


# ---- per-video work (top-level functions: they run in worker processes) ------------------------------

def probe_item(item: dict[str, Any]) -> dict[str, Any]:
    """Probe one source and hash its content; reuse the ledger when the file has not changed."""
    ws = Workspace(Path(item["ws_root"]))
    path = Path(item["path"])
    if item["kind"] == "images":
        files = image_files(path)
        stat_key = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    else:
        st = path.stat() if path.exists() else None
        stat_key = (st.st_size, st.st_mtime_ns) if st else None
    key = stage_key(str(path), item["kind"], stat_key, item["image_fps"])
    entry = ws.ledger("probe", item["video_id"], key)
    if entry is not None:
        return {k: entry[k] for k in PROBE_FACTS}
    if item["kind"] == "images":
        facts = probe_images(path, item["image_fps"])
        facts["sha256"] = folder_sha256(image_files(path))
    else:
        facts = probe_video(path)
        facts["sha256"] = file_sha256(path)
    facts = {k: facts[k] for k in PROBE_FACTS}
    ws.mark_done("probe", item["video_id"], key, **facts)
    return facts


def transcode_key(row: dict[str, Any], options: TranscodeOptions, image_fps: float) -> str:
    return stage_key(row["sha256"], row["kind"], options, image_fps if row["kind"] == "images" else None)


def transcode_item(item: dict[str, Any], on_frame: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Transcode one video to the workspace's constant fps and write its frame map (both atomically);
    ``on_frame(n)`` hears of every ``n`` frames written. ``item["later"]``, when given, is a later stage's side of
    this video (:class:`LaterStage`): it takes the frames as they are encoded, and its outcome comes back as
    ``"later"`` (``{"value": ...}`` or ``{"error": "one line"}``) without ever failing the transcode."""
    ws = Workspace(Path(item["ws_root"]))
    row = item["row"]
    vid = row["video_id"]
    options: TranscodeOptions = item["options"]
    later: LaterStage | None = item.get("later")
    key = transcode_key(row, options, item["image_fps"])
    video_path, frames_path = ws.video_path(vid), ws.frames_path(vid)
    entry = ws.ledger("transcode", vid, key)
    if entry is not None and video_path.exists() and frames_path.exists():
        done = {**entry, "skipped": True}
        return {**done, "later": Fed(later, ws).outcome()} if later is not None else done
    ws.clear_done("transcode", vid)
    t0 = time.perf_counter()
    rotation = int(row["rotation"] or 0)
    out_w, out_h = output_size(int(row["width"]), int(row["height"]), rotation, options.max_height)
    fed = Fed(later, ws, key, out_w, out_h) if later is not None else None
    try:
        frame_map = transcode(
            row["path"], video_path, kind=row["kind"], duration=float(row["duration"]), width=int(row["width"]),
            height=int(row["height"]), rotation=rotation, image_fps=item["image_fps"], options=options,
            on_frame=on_frame, has_audio=row.get("has_audio") is not False, frames_to=fed.push if fed else None)
    except BaseException:
        if fed is not None:
            fed.abort()
        raise
    io.write_parquet(frame_map, frames_path, metadata={"video_id": vid, "fps": options.fps,
                                                        "src_frames": int(row["n_frames"])})
    info = {
        "out_width": out_w,
        "out_height": out_h,
        "out_frames": len(frame_map),
        "dropped_src_frames": int(row["n_frames"]) - int(frame_map["src_frame"].nunique()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    ws.mark_done("transcode", vid, key, **info)
    done = {**info, "key": key, "skipped": False}
    return {**done, "later": fed.outcome()} if fed is not None else done


# ---- the stage ---------------------------------------------------------------------------------------

@writes_workspace("affcurate ingest")
def ingest_media(
    ws: Workspace,
    videos: str | Path | None = None,
    list_csv: str | Path | None = None,
    *,
    subject_from: str | None = None,
    label_from_folder: bool = False,
    image_fps: float | None = None,
    spec: ExecutorSpec | None = None,
    progress: Progress | None = None,
    frames_to: Callable[[Workspace, list[str]], dict[str, LaterStage]] | None = None,
) -> MediaResult:
    """Add sources to the manifest, probe them and transcode them to constant fps with frame maps. With neither
    ``videos`` nor ``list_csv``, resume or redo the videos already in the manifest. ``frames_to(ws, ids)``, called
    once after probing, gives a later stage's side of each video to be transcoded (:class:`LaterStage`), fed
    every frame as it is encoded; the outcomes are the result's ``later``."""
    if videos is not None and list_csv is not None:
        raise AffcurateError("give --videos or --list, not both")
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    progress = progress or current_progress()
    img_fps = _image_fps(ws, image_fps)
    manifest = ws.manifest(with_faces=False) if ws.has_manifest() else mf.empty_manifest()
    skipped: list[str] = []
    manifest = _add_sources(ws, manifest, videos, list_csv, subject_from, label_from_folder, skipped)
    manifest = _probe(ws, manifest, img_fps, spec, progress)
    ws.write_manifest(manifest)
    summary, later = _transcode(ws, manifest, img_fps, spec, progress, frames_to)
    manifest = mf.normalise(manifest)
    ws.write_manifest(manifest)
    order = {v: i for i, v in enumerate(manifest["video_id"])}
    summary = summary.sort_values("video_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return MediaResult(manifest, summary, skipped, later)


def _add_sources(ws: Workspace, manifest: pd.DataFrame, videos: str | Path | None, list_csv: str | Path | None,
                 subject_from: str | None, label_from_folder: bool, skipped: list[str]) -> pd.DataFrame:
    """The manifest with the sources of ``videos`` (a folder) or ``list_csv`` added or updated."""
    root = None
    if videos is not None:
        root = mf.real_path(Path(videos))
        candidates = mf.scan_folder(root, skipped)
        if not candidates:
            raise AffcurateError(f"{videos}: no videos or image folders found")
    elif list_csv is not None:
        candidates = mf.read_list(Path(list_csv))
    else:
        candidates = []
        if manifest.empty:
            raise AffcurateError(f"{ws.root}: the manifest is empty; give --videos DIR or --list FILE.csv")
    candidates = mf.apply_path_rules(candidates, root, subject_from, label_from_folder)
    taken = dict(zip(manifest["video_id"], [str(mf.real_path(Path(p))) for p in manifest["path"]], strict=True))
    mf.assign_ids(candidates, taken)
    new_rows = pd.DataFrame([mf.candidate_row(c) for c in candidates])
    if not new_rows.empty:
        known = manifest.set_index("video_id")
        fresh = []
        for _, r in new_rows.iterrows():
            if r["video_id"] in known.index:
                for col in ("subject", "label", "source", "target_track", "target_side", "meta"):
                    if pd.notna(r[col]):
                        known.loc[r["video_id"], col] = r[col]
            else:
                fresh.append(r)
        if fresh:  # added at once, as objects: the columns are typed again by normalise
            added = pd.DataFrame(fresh).set_index("video_id").reindex(columns=known.columns)
            known = pd.concat([known.astype(object), added.astype(object)]) if len(known) else added
        manifest = known.reset_index()
    return mf.normalise(manifest)


def _probe(ws: Workspace, manifest: pd.DataFrame, img_fps: float, spec: ExecutorSpec,
           progress: Progress) -> pd.DataFrame:
    """Probe every source (cheap when unchanged: the ledger remembers) and mark duplicates."""
    items = [{"ws_root": str(ws.root), "video_id": r.video_id, "path": r.path, "kind": r.kind,
              "image_fps": img_fps} for r in manifest.itertuples()]
    row_of = dict(zip(manifest["video_id"], manifest.index, strict=True))
    updates: dict[int, dict[str, Any]] = {}
    for res in map_items(probe_item, items, spec, "probe", progress):
        idx = row_of[res.item["video_id"]]
        updates[idx] = {"status": "error", "error": res.error} if res.error else {
            **res.value, "status": "pending", "error": None}
    return _mark_duplicates(mf.normalise(_set_rows(manifest, updates)))


def _set_rows(manifest: pd.DataFrame, updates: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """``manifest`` with the values of ``updates`` (row index → column → value) set, one column at a time: a
    cell at a time costs milliseconds per video in this (the one serial) process. The dtypes are normalise's."""
    columns = dict.fromkeys(c for row in updates.values() for c in row)
    for c in columns:
        rows = [i for i, row in updates.items() if c in row]
        col = manifest[c].astype(object) if c in manifest.columns else pd.Series(None, manifest.index, object)
        col.loc[rows] = pd.Series([updates[i][c] for i in rows], index=rows, dtype=object)
        manifest[c] = col
    return manifest


def _transcode(ws: Workspace, manifest: pd.DataFrame, img_fps: float, spec: ExecutorSpec, progress: Progress,
               frames_to: Callable[[Workspace, list[str]], dict[str, LaterStage]] | None
               ) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Transcode the pending videos (updating ``manifest`` in place); one summary row per video, and the later
    stage's outcome per video."""
    row_of = dict(zip(manifest["video_id"], manifest.index, strict=True))
    options = TranscodeOptions.from_settings(ws.settings.ingest)
    todo = manifest[manifest["status"] == "pending"]
    stages = frames_to(ws, todo["video_id"].tolist()) if frames_to is not None and len(todo) else {}
    t_items = [{"ws_root": str(ws.root), "row": _plain(r), "options": options, "image_fps": img_fps,
                "later": stages.get(r["video_id"])} for r in todo.to_dict("records")]
    later: dict[str, dict[str, Any]] = {}
    total = max(int(sum(round(float(d) * options.fps) for d in todo["duration"].fillna(0))), 1)
    frames = [0]

    def advance(n: int) -> None:
        frames[0] += n
        progress("frames", min(frames[0], total), total)

    progress("frames", 0, total)
    # in this process the frames are counted as they are written; from workers, as each video finishes
    in_process = spec.kind == "local" and (spec.jobs == 1 or len(t_items) <= 1)
    work = partial(transcode_item, on_frame=advance) if in_process else transcode_item
    summary_rows: list[dict[str, Any]] = []
    updates: dict[int, dict[str, Any]] = {}
    for res in map_items(work, t_items, spec, "transcode", progress):
        row = _transcode_outcome(updates, row_of, res)
        if res.error is None and "later" in res.value:
            later[row["video_id"]] = res.value.pop("later")
        summary_rows.append(row)
        if not in_process or row.get("skipped"):
            advance(int(row["out_frames"] or 0))
    progress("frames", total, total)
    _set_rows(manifest, updates)
    # the videos that never reached transcoding: probe errors and duplicates (transcoded ones are listed)
    for r in manifest[manifest["status"].isin(["error", "duplicate"]) & ~manifest.index.isin(todo.index)
                      ].itertuples():
        summary_rows.append({"video_id": r.video_id, "status": r.status, "out_frames": None, "seconds": None,
                             "skipped": False, "error": None if pd.isna(r.error) else str(r.error)})
    columns = ["video_id", "status", "out_frames", "seconds", "skipped", "error"]
    return pd.DataFrame(summary_rows, columns=columns), later


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v) for k, v in row.items()}


def _mark_duplicates(manifest: pd.DataFrame) -> pd.DataFrame:
    """Same content twice for the same subject: the later row is a ``duplicate`` of the first and is not
    processed again. Rows of one video that name different subjects (``target_side``, ``target_track``) are
    each a sample of their own."""
    first: dict[tuple, str] = {}
    for idx, r in manifest.iterrows():
        if r["status"] == "error" or pd.isna(r["sha256"]):
            continue
        sha = (r["sha256"], *(None if pd.isna(r[c]) else r[c] for c in ("target_side", "target_track")))
        if sha in first and first[sha] != r["video_id"]:
            manifest.loc[idx, ["status", "duplicate_of", "error"]] = ["duplicate", first[sha], None]
        else:
            first.setdefault(sha, r["video_id"])
            if r["status"] == "duplicate":
                manifest.loc[idx, ["status", "duplicate_of"]] = ["pending", None]
    return manifest


def _transcode_outcome(updates: dict[int, dict[str, Any]], row_of: dict[str, int],
                       res: ItemResult) -> dict[str, Any]:
    """The summary row of one transcode; its manifest values go to ``updates``."""
    vid = res.item["row"]["video_id"]
    idx = row_of[vid]
    if res.error:
        updates[idx] = {"status": "error", "error": f"transcode failed: {res.error}"}
        return {"video_id": vid, "status": "error", "out_frames": None, "seconds": None, "skipped": False,
                "error": f"transcode failed: {res.error}"}
    v = res.value
    updates[idx] = {"out_width": v["out_width"], "out_height": v["out_height"], "out_frames": v["out_frames"],
                    "status": "ok", "error": None}
    return {"video_id": vid, "status": "ok", "out_frames": v["out_frames"], "seconds": v.get("seconds"),
            "skipped": bool(v.get("skipped")), "error": None}
