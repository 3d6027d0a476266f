"""The stages in the order of the flow, called from above: each stage is a peer that never runs another.

``affcurate ingest`` is :func:`ingest`: the media stage (sources → manifest → 30 fps videos and frame maps) with
the faces stage plugged in as the consumer of the frames it encodes, so each source is decoded once for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from affcurate.executor import ExecutorSpec, Progress, current_progress, worker_pool
from affcurate.faces.stage import faces_of_encoded_frames, find_faces, record_outcomes
from affcurate.lock import writes_workspace
from affcurate.media.ingest import ingest_media
from affcurate.workspace import Workspace

# what the ingest summary shows of the faces stage's summary
FACES_COLUMNS = {"status": "faces_status", "error": "faces_error", "target_frames": "target_frames"}


@dataclass
class IngestResult:
    """What one ingest did: the manifest after it (with each video's faces status) and one summary row per
    video: video_id, status, out_frames, seconds, skipped, error, and faces_status, faces_error, target_frames
    when the faces stage ran."""

    manifest: pd.DataFrame
    summary: pd.DataFrame
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
    """Add sources to the manifest, probe them, transcode them to constant fps (:func:`ingest_media`) and, with
    ``faces``, run the faces stage on the videos that are ready. With neither ``videos`` nor ``list_csv``, resume
    or redo the videos already in the manifest.

    One pass: the faces stage takes each video's frames as the media stage encodes them (the pixels the file
    holds, so the tables are those :func:`find_faces` makes from the file), and one set of worker processes
    serves both stages."""
    progress = progress or current_progress()
    spec = spec or ExecutorSpec(jobs=ws.settings.ingest.jobs)
    media_progress = _with_faces(progress) if faces else progress
    with worker_pool(spec):
        media = ingest_media(ws, videos, list_csv, subject_from=subject_from, label_from_folder=label_from_folder,
                             image_fps=image_fps, spec=spec, progress=media_progress,
                             frames_to=faces_of_encoded_frames if faces else None)
        summary = media.summary
        ready = media.manifest.loc[media.manifest["status"] == "ok", "video_id"].tolist()
        if faces and ready:
            outcomes = {vid: (r.get("value"), r.get("error")) for vid, r in media.later.items()}
            face_summary = record_outcomes(ws, ready, outcomes)
            rest = [vid for vid in ready if vid not in outcomes]  # ready, but not transcoded by this run
            if rest:
                face_summary = pd.concat([face_summary, find_faces(ws, rest, spec=spec, progress=progress)])
            shown = face_summary[["video_id", *FACES_COLUMNS]].rename(columns=FACES_COLUMNS)
            summary = summary.merge(shown, on="video_id", how="left")
    return IngestResult(ws.manifest(), summary, media.skipped)


def _with_faces(progress: Progress) -> Progress:
    """The media stage's reports, with the faces stage's count beside the transcode's: a video's faces are done
    when its transcode is."""
    def report(what: str, done: int, total: int) -> None:
        progress(what, done, total)
        if what == "transcode":
            progress("faces", done, total)

    return report
