"""``affcurate subjects``: descriptors of every video's subject, identities across videos, findings against the
given subject ids, and the contact sheet; plus the reading side that other stages (split, report) call.

Files, all under ``identity/``: ``descriptors/<id>.parquet`` and ``descriptors.parquet`` (see
:mod:`affcurate.identity.descriptors`), ``identities.parquet`` (one row per video: video_id, identity, subject,
confidence, within_distance, nearest_identity, nearest_video, nearest_distance, confirmed), ``findings.parquet``
(kind, identity, subject, identities, subjects, videos, distance, reviewed), ``contact_sheet.png``, and the
reviewer's ``corrections.toml`` (:mod:`affcurate.identity.corrections`), which affcurate reads and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress
from affcurate.identity import cluster as cl
from affcurate.identity.corrections import Corrections, read_corrections
from affcurate.identity.descriptors import describe, identity_dir, read_descriptors
from affcurate.identity.reconcile import FINDING_COLUMNS, IDENTITY_COLUMNS, identify
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace


def identities_path(ws: Workspace) -> Path:
    return identity_dir(ws) / "identities.parquet"


def findings_path(ws: Workspace) -> Path:
    return identity_dir(ws) / "findings.parquet"


def corrections_path(ws: Workspace) -> Path:
    return identity_dir(ws) / "corrections.toml"


def sheet_path(ws: Workspace) -> Path:
    return identity_dir(ws) / "contact_sheet.png"


@dataclass
class SubjectsResult:
    """What one run did: the descriptor step's summary (video_id, status, n_descriptors, skipped, seconds,
    error), the identities and findings tables (as written), and the contact sheet's path."""

    summary: pd.DataFrame
    identities: pd.DataFrame
    findings: pd.DataFrame
    sheet: Path | None
    corrections: Corrections

    @property
    def n_skipped(self) -> int:
        return int(self.summary["skipped"].fillna(False).astype(bool).sum())

    @property
    def n_failed(self) -> int:
        return int((self.summary["status"] == "error").sum())

    @property
    def n_computed(self) -> int:
        return int((~self.summary["skipped"].fillna(True).astype(bool)).sum())  # a failed video: neither


def _previous(ws: Workspace) -> pd.DataFrame | None:
    path = identities_path(ws)
    if not path.exists():
        return None
    try:
        return io.read_parquet(path, columns=["video_id", "identity"])
    except (OSError, ValueError) as exc:
        raise AffcurateError(f"{path}: not a readable identities table ({exc}); delete it to start afresh") from None


def per_video(descriptors: pd.DataFrame, videos: list[str], threshold: float) -> np.ndarray:
    """(len(videos), 128): each video's descriptor from its frames' (NaN rows for a video without any)."""
    out = np.full((len(videos), 128), np.nan)
    where = {v: n for n, v in enumerate(videos)}
    for vid, rows in descriptors.groupby("video_id", sort=False):
        if vid in where:
            out[where[vid]] = cl.video_descriptor(np.stack(rows["descriptor"].to_numpy()), threshold)
    return out


@writes_workspace("affcurate subjects")
def subjects(ws: Workspace, spec: ExecutorSpec | None = None, progress: Progress | None = None,
             sheet: bool = True) -> SubjectsResult:
    """Descriptors (resumable, on the executor), then identities at ``[subjects] threshold``, findings and the
    contact sheet. The corrections file is read and checked before anything is written."""
    videos = ws.video_ids()
    previous = _previous(ws)
    prev_names = {} if previous is None else dict(zip(previous["video_id"], previous["identity"].astype(object),
                                                      strict=True))
    prev_names = {v: str(n) for v, n in prev_names.items() if n is not None and n is not pd.NA}
    groups: dict[str, list[str]] = {}
    for v, n in sorted(prev_names.items()):
        groups.setdefault(n, []).append(v)
    corrections = read_corrections(corrections_path(ws), set(videos), groups)
    summary = describe(ws, videos, spec=spec, progress=progress)
    failed = set(summary.loc[summary["status"] == "error", "video_id"])
    kept = [v for v in videos if v not in failed]
    threshold = ws.settings.subjects.threshold
    x = per_video(read_descriptors(ws), kept, threshold)
    manifest = ws.manifest(with_faces=False).drop_duplicates("video_id").set_index("video_id")
    given = [manifest["subject"].get(v) if "subject" in manifest else None for v in kept]
    table, found = identify(kept, x, given, threshold, corrections, prev_names)
    io.write_parquet(table, identities_path(ws), metadata={"threshold": threshold,
                                                             "frames": ws.settings.subjects.frames})
    io.write_parquet(found, findings_path(ws))
    path = None
    if sheet:
        from affcurate.identity.sheet import contact_sheet

        path = contact_sheet(ws, sheet_path(ws))
    return SubjectsResult(summary, table, found, path, corrections)


# ---- the reading side, for the split, its check and the report ------------------------------------------------

def read_identities(ws: Workspace) -> pd.DataFrame:
    """One row per video: video_id, identity (NA: no face), subject (given), confidence (0-1), within_distance,
    nearest_identity, nearest_video, nearest_distance, confirmed."""
    path = identities_path(ws)
    if not path.exists():
        raise AffcurateError(f"{path} is missing: run `affcurate subjects {ws.root}` first")
    return io.read_parquet(path)[list(IDENTITY_COLUMNS)]


def read_findings(ws: Workspace) -> pd.DataFrame:
    """The last run's findings: kind, identity, subject, identities, subjects, videos, distance, reviewed."""
    path = findings_path(ws)
    if not path.exists():
        raise AffcurateError(f"{path} is missing: run `affcurate subjects {ws.root}` first")
    return io.read_parquet(path)[list(FINDING_COLUMNS)]


def has_identities(ws: Workspace) -> bool:
    return identities_path(ws).exists()


def video_descriptors(ws: Workspace, videos: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(video ids, (n, 128)) the descriptor of each video with a face (of ``videos``, default all)."""
    df = read_descriptors(ws)
    ids = sorted(set(df["video_id"])) if videos is None else [v for v in videos if v in set(df["video_id"])]
    return ids, per_video(df, ids, ws.settings.subjects.threshold)


def face_distance(ws: Workspace, video_a: str, video_b: str) -> float:
    """Distance between two videos' subjects' descriptors (NaN when either has no face)."""
    ids, x = video_descriptors(ws, [video_a, video_b])
    if video_a not in ids or video_b not in ids:
        return float("nan")
    return float(np.linalg.norm(x[ids.index(video_a)] - x[ids.index(video_b)]))


def face_pairs(ws: Workspace, threshold: float | None = None, videos: list[str] | None = None) -> pd.DataFrame:
    """Every pair of videos whose faces match (distance ≤ ``threshold``, default the setting): video_a < video_b,
    distance; chunked, so it holds for many thousands of videos."""
    ids, x = video_descriptors(ws, videos)
    sc = cl.scan(x, ws.settings.subjects.threshold if threshold is None else threshold, k=0)
    df = pd.DataFrame({"video_a": [ids[i] for i in sc.i], "video_b": [ids[j] for j in sc.j], "distance": sc.d})
    return df.sort_values(["video_a", "video_b"]).reset_index(drop=True)


def joined_subjects(ws: Workspace, use: str = "both") -> pd.Series:
    """A person key per video (index video_id) for subject-independent splits: ``given`` (the subject id, or
    ``video:<id>`` when none), ``faces`` (the identity, or ``video:<id>`` without a face), or ``both`` (videos
    that share a subject id or an identity, through any chain, share a key: their subject keys joined by +)."""
    if use not in ("given", "faces", "both"):
        raise AffcurateError(f"--subjects {use!r}: expected given, faces or both")
    manifest = ws.manifest().drop_duplicates("video_id")  # with the actors a dataset's faces name
    vids = manifest["video_id"].astype(str)
    given = manifest["subject"].astype("string").fillna("video:" + vids).to_numpy(object) \
        if "subject" in manifest else ("video:" + vids).to_numpy(object)
    if use == "given":
        return pd.Series(given, index=vids.to_numpy(), name="subject")
    table = read_identities(ws).set_index("video_id")["identity"]
    ident = [table.get(v) for v in vids]
    faces = np.array([f"face:{i}" if isinstance(i, str) else f"video:{v}" for v, i in zip(vids, ident, strict=True)],
                     object)
    if use == "faces":
        return pd.Series(faces, index=vids.to_numpy(), name="subject")
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.get(a, a) != a:
            a = parent[a]
        return a

    for g, f in zip(given, faces, strict=True):
        ra, rb = find(g), find(f)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, set[str]] = {}
    for g in given:
        members.setdefault(find(g), set()).add(g)
    key = {root: "+".join(sorted(m)) for root, m in members.items()}
    return pd.Series([key[find(g)] for g in given], index=vids.to_numpy(), name="subject")
