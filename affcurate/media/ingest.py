"""`affcurate ingest`: manifest → probe → constant-fps transcode with frame maps → faces.

Per-video work is keyed in the workspace's done-ledger by the input's hash and the stage's settings, so a rerun
skips what is done and redoes what changed; a bad video gets ``status=error`` and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, ItemResult, make_progress, map_items
from affcurate.lock import writes_workspace
from affcurate.media import manifest as mf
from affcurate.media.probe import file_sha256, folder_sha256, image_files, probe_images, probe_video
from affcurate.media.transcode import TranscodeOptions, transcode
from affcurate.workspace import Workspace, stage_key

# Set by `ingest` when videos are transcoded in this process, so that the frames bar moves frame by frame.
_FRAME_HOOK: Callable[[int], None] | None = None

PROBE_FACTS = ["sha256", "size", "container", "codec", "width", "height", "rotation", "avg_fps", "real_fps",
               "duration", "n_frames", "vfr", "has_audio"]


@dataclass
class IngestResult:
    """What one ingest run did: the manifest after it and one summary row per video."""

    manifest: pd.DataFrame
    summary: pd.DataFrame  # video_id, status, out_frames, seconds, skipped, error (+ faces columns)
    skipped: list[str] = field(default_factory=list)  # entries of --videos not followed, each with its reason

    @property
    def failed(self) -> pd.Series:
        """Per summary row: did the video fail, in probing, transcoding or the faces stage."""
        s = self.summary
        faces_error = s["faces_status"] == "error" if "faces_status" in s.columns else False
        return (s["status"] == "error") | faces_error

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
    entry = ws.ledger("probe", item["video_id"])
    if entry is not None and entry.get("key") == key:
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


def transcode_item(item: dict[str, Any]) -> dict[str, Any]:
    """Transcode one video to the workspace's constant fps and write its frame map (both atomically)."""
    ws = Workspace(Path(item["ws_root"]))
    row = item["row"]
    vid = row["video_id"]
    options = TranscodeOptions(**item["options"])
    key = transcode_key(row, options, item["image_fps"])
    video_path, frames_path = ws.video_path(vid), ws.frames_path(vid)
    entry = ws.ledger("transcode", vid)
    if entry is not None and entry.get("key") == key and video_path.exists() and frames_path.exists():
        return {**entry, "skipped": True}
    ws.clear_done("transcode", vid)
    t0 = time.perf_counter()
    frame_map = transcode(
        row["path"], video_path, kind=row["kind"], duration=float(row["duration"]), width=int(row["width"]),
        height=int(row["height"]), rotation=int(row["rotation"] or 0), image_fps=item["image_fps"],
        options=options, on_frame=_FRAME_HOOK,
    )
    io.write_parquet(frame_map, frames_path, metadata={"video_id": vid, "fps": options.fps,
                                                        "src_frames": int(row["n_frames"])})
    out = probe_video(video_path)
    info = {
        "out_width": out["width"],
        "out_height": out["height"],
        "out_frames": len(frame_map),
        "dropped_src_frames": int(row["n_frames"]) - int(frame_map["src_frame"].nunique()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    ws.mark_done("transcode", vid, key, **info)
    return {**info, "key": key, "skipped": False}


# ---- the stage ---------------------------------------------------------------------------------------

@writes_workspace("affcurate ingest")
def ingest(
    ws: Workspace,
    videos: str | Path | None = None,
    list_csv: str | Path | None = None,
    *,
    subject_from: str | None = None,
    label_from_folder: bool = False,
    image_fps: float | None = None,
    spec: ExecutorSpec | None = None,
    faces: bool = True,
    progress: Progress | None = None,
) -> IngestResult:
    """Add sources to the manifest, probe them, transcode them to constant fps and (by default) run the faces
    stage. With neither ``videos`` nor ``list_csv``, resume or redo the videos already in the manifest."""
    if videos is not None and list_csv is not None:
        raise AffcurateError("give --videos or --list, not both")
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    img_fps = _image_fps(ws, image_fps)
    manifest = ws.manifest() if ws.has_manifest() else mf.empty_manifest()

    # 1. candidates → manifest rows
    root = None
    skipped: list[str] = []
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
        for _, r in new_rows.iterrows():
            if r["video_id"] in known.index:
                for col in ("subject", "label", "source", "target_track", "meta"):
                    if pd.notna(r[col]):
                        known.loc[r["video_id"], col] = r[col]
            else:
                known.loc[r["video_id"]] = r.reindex(known.columns)
        manifest = known.reset_index()
    manifest = mf.normalise(manifest)

    own_progress = progress is None
    progress = progress or make_progress()
    if own_progress:
        progress.start()
    try:
        # 2. probe (cheap when unchanged: the ledger remembers)
        items = [{"ws_root": str(ws.root), "video_id": r.video_id, "path": r.path, "kind": r.kind,
                  "image_fps": img_fps} for r in manifest.itertuples()]
        row_of = dict(zip(manifest["video_id"], manifest.index, strict=True))
        for res in map_items(probe_item, items, spec, "probe", progress):
            idx = row_of[res.item["video_id"]]
            if res.error:
                manifest.loc[idx, "status"] = "error"
                manifest.loc[idx, "error"] = res.error
            else:
                for k, v in res.value.items():
                    manifest.loc[idx, k] = v
                manifest.loc[idx, ["status", "error"]] = ["pending", None]
        manifest = mf.normalise(manifest)
        manifest = _mark_duplicates(manifest)
        ws.write_manifest(manifest)
        row_of = dict(zip(manifest["video_id"], manifest.index, strict=True))  # normalise may reorder rows

        # 3. transcode
        options = TranscodeOptions(
            fps=ws.settings.ingest.fps, max_height=ws.settings.ingest.max_height,
            keep_audio=ws.settings.ingest.keep_audio, crf=ws.settings.ingest.crf,
            preset=ws.settings.ingest.preset, threads=ws.settings.ingest.encoder_threads,
        )
        todo = manifest[manifest["status"] == "pending"]
        t_items = [{"ws_root": str(ws.root), "row": _plain(r), "options": options.__dict__, "image_fps": img_fps}
                   for r in todo.to_dict("records")]
        summary_rows: list[dict[str, Any]] = []
        expected = int(sum(round(float(d) * options.fps) for d in todo["duration"].fillna(0)))
        frames_task = progress.add_task("frames", total=max(expected, 1))
        in_process = spec.kind == "local" and (spec.jobs == 1 or len(t_items) <= 1)
        global _FRAME_HOOK
        _FRAME_HOOK = (lambda n: progress.advance(frames_task, n)) if in_process else None
        try:
            for res in map_items(transcode_item, t_items, spec, "transcode", progress):
                row = _apply_transcode(manifest, row_of, res)
                summary_rows.append(row)
                if not in_process or row.get("skipped"):
                    progress.advance(frames_task, int(row["out_frames"] or 0))
        finally:
            _FRAME_HOOK = None
        progress.update(frames_task, completed=progress.tasks[frames_task].total)
        # the videos that never reached transcoding: probe errors and duplicates (transcoded ones are listed)
        for r in manifest[manifest["status"].isin(["error", "duplicate"]) & ~manifest.index.isin(todo.index)
                          ].itertuples():
            summary_rows.append({"video_id": r.video_id, "status": r.status, "out_frames": None,
                                 "seconds": None, "skipped": False,
                                 "error": None if pd.isna(r.error) else str(r.error)})
        manifest = mf.normalise(manifest)
        ws.write_manifest(manifest)

        # 4. faces
        summary = pd.DataFrame(summary_rows, columns=["video_id", "status", "out_frames", "seconds", "skipped",
                                                      "error"])
        if faces:
            ok_ids = manifest.loc[manifest["status"] == "ok", "video_id"].tolist()
            if ok_ids:
                from affcurate.faces.stage import run_faces

                face_summary = run_faces(ws, ok_ids, spec=spec, progress=progress)
                manifest = _apply_faces(ws.manifest(), face_summary)
                ws.write_manifest(manifest)
                summary = summary.merge(_faces_columns(face_summary), on="video_id", how="left")
    finally:
        if own_progress:
            progress.stop()
    order = {v: i for i, v in enumerate(manifest["video_id"])}
    summary = summary.sort_values("video_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return IngestResult(manifest, summary, skipped)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v) for k, v in row.items()}


def _mark_duplicates(manifest: pd.DataFrame) -> pd.DataFrame:
    """Same content twice: the later row is a ``duplicate`` of the first and is not processed again."""
    first: dict[str, str] = {}
    for idx, r in manifest.iterrows():
        if r["status"] == "error" or pd.isna(r["sha256"]):
            continue
        sha = r["sha256"]
        if sha in first and first[sha] != r["video_id"]:
            manifest.loc[idx, ["status", "duplicate_of", "error"]] = ["duplicate", first[sha], None]
        else:
            first.setdefault(sha, r["video_id"])
            if r["status"] == "duplicate":
                manifest.loc[idx, ["status", "duplicate_of"]] = ["pending", None]
    return manifest


def _apply_transcode(manifest: pd.DataFrame, row_of: dict[str, int], res: ItemResult) -> dict[str, Any]:
    vid = res.item["row"]["video_id"]
    idx = row_of[vid]
    if res.error:
        manifest.loc[idx, ["status", "error"]] = ["error", f"transcode failed: {res.error}"]
        return {"video_id": vid, "status": "error", "out_frames": None, "seconds": None, "skipped": False,
                "error": f"transcode failed: {res.error}"}
    v = res.value
    manifest.loc[idx, ["out_width", "out_height", "out_frames"]] = [v["out_width"], v["out_height"],
                                                                    v["out_frames"]]
    manifest.loc[idx, ["status", "error"]] = ["ok", None]
    return {"video_id": vid, "status": "ok", "out_frames": v["out_frames"], "seconds": v.get("seconds"),
            "skipped": bool(v.get("skipped")), "error": None}


def _faces_columns(face_summary: pd.DataFrame) -> pd.DataFrame:
    cols = {"status": "faces_status", "error": "faces_error", "target_frames": "target_frames"}
    keep = ["video_id"] + [c for c in cols if c in face_summary.columns]
    return face_summary[keep].rename(columns=cols)


def _apply_faces(manifest: pd.DataFrame, face_summary: pd.DataFrame) -> pd.DataFrame:
    fs = _faces_columns(face_summary).set_index("video_id")
    for col in ("faces_status", "faces_error"):
        if col in fs.columns:
            # object dtype on both sides: an all-missing column read back from parquet may carry a null type
            mapped = manifest["video_id"].map(fs[col]).astype(object)
            prev = manifest[col].astype(object) if col in manifest.columns else pd.Series(None, index=manifest.index)
            manifest[col] = mapped.where(mapped.notna(), prev).astype("string")
    return manifest
