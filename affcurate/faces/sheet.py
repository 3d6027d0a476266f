"""The picture of a video's face tracks (``affcurate faces show``): one row per track with its id, frames, median
score and a few thumbnails cut from the 30 fps video around its boxes, the subject's row marked, so that the id
to give ``affcurate faces pick`` can be seen rather than read from ``faces/<id>.parquet``.

The video is decoded once, and only the thumbnails' regions of the frames they come from are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from affcurate.errors import AffcurateError
from affcurate.faces.detect_pass import DecodeStats, decode_frames
from affcurate.faces.table import FaceTracks
from affcurate.identity.sheet import GREEN, GREY, INK, PAD, PAPER, draw_text, write_png
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace

THUMB = 96
THUMBS = 5
LABEL = 250
HEADER = 44
ROW = THUMB + 2 * PAD + 16  # the thumbnails and, under each, its frame number
MAX_ROWS = 60
CONTEXT = 1.5  # a thumbnail shows the box and this much around it (side of the square / side of the box)
MARK = 6  # width of the subject's bar at the left edge of its row
RULE = (220, 220, 220)


@dataclass(frozen=True)
class TrackRow:
    """One track as the sheet shows it: ``frames`` is how many frames it is on, ``first``..``last`` where."""

    track_id: int
    frames: int
    first: int
    last: int
    median_score: float
    detected: int
    is_subject: bool
    thumb_frames: tuple[int, ...]


@dataclass(frozen=True)
class TrackSheet:
    """What was drawn: the PNG's path, its rows top to bottom (row ``k`` starts at ``HEADER + k * ROW``), every
    track of the video (more than the rows when the sheet could not hold them all) and the picture's height."""

    video_id: str
    path: Path
    rows: list[TrackRow]
    tracks: list[TrackRow]
    height: int

    @property
    def subject(self) -> int | None:
        return next((r.track_id for r in self.tracks if r.is_subject), None)


def sheet_path(ws: Workspace, video_id: str) -> Path:
    return ws.reports_dir / "tracks" / f"{video_id}.png"


def track_rows(tracks: FaceTracks, n_thumbs: int = THUMBS) -> list[TrackRow]:
    """Per track (by id): its frames, median detector score (of the detected faces; of all when none were) and
    the frames of up to ``n_thumbs`` thumbnails spread over it (detected faces preferred to carried ones)."""
    subject = tracks.target_track
    on_target = {int(t) for t in np.unique(tracks.track_id[tracks.is_target])}
    rows = []
    for tid in tracks.track_ids:
        t = tracks.track(tid)
        frames = np.unique(t.frame)
        scores = t.scores[t.detected] if t.detected.any() else t.scores
        pool = np.unique(t.frame[t.detected]) if t.detected.any() else frames
        picks = pool[np.unique(np.linspace(0, len(pool) - 1, min(n_thumbs, len(pool))).round().astype(int))]
        rows.append(TrackRow(tid, len(frames), int(frames[0]), int(frames[-1]), float(np.median(scores)),
                             int(t.detected.sum()), tid == subject if subject is not None else tid in on_target,
                             tuple(int(f) for f in picks)))
    return rows


def _shown(rows: list[TrackRow], max_rows: int) -> list[TrackRow]:
    """All rows, or the subject's and the longest tracks' when there are more than ``max_rows`` (in id order)."""
    if len(rows) <= max_rows:
        return rows
    keep = sorted(rows, key=lambda r: (not r.is_subject, -r.frames, r.track_id))[:max_rows]
    return sorted(keep, key=lambda r: r.track_id)


def _cut(rgb: np.ndarray, box: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """A THUMB×THUMB BGR square around ``box`` (grey where it runs past the frame), the box outlined."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 8.0) * CONTEXT
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sx, sy, s = int(round(cx - side / 2)), int(round(cy - side / 2)), max(int(round(side)), 1)
    square = np.full((s, s, 3), 200, np.uint8)
    h, w = rgb.shape[:2]
    ax, ay, bx, by = max(sx, 0), max(sy, 0), min(sx + s, w), min(sy + s, h)
    if bx > ax and by > ay:
        square[ay - sy:by - sy, ax - sx:bx - sx] = rgb[ay:by, ax:bx]
    scale = THUMB / s
    out = cv2.resize(cv2.cvtColor(square, cv2.COLOR_RGB2BGR), (THUMB, THUMB),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    p1 = (int((x1 - sx) * scale), int((y1 - sy) * scale))
    p2 = (int((x2 - sx) * scale), int((y2 - sy) * scale))
    cv2.rectangle(out, p1, p2, colour, 1, cv2.LINE_AA)
    return out


def _thumbnails(ws: Workspace, tracks: FaceTracks, rows: list[TrackRow]) -> dict[tuple[int, int], np.ndarray]:
    """(track id, frame) → thumbnail, from one decoding pass that stops after the last frame needed."""
    want: dict[int, list[tuple[int, np.ndarray, tuple[int, int, int]]]] = {}
    for r in rows:
        t = tracks.track(r.track_id)
        for f in r.thumb_frames:
            box = t.boxes[np.flatnonzero(t.frame == f)[0]]
            want.setdefault(f, []).append((r.track_id, box, GREEN if r.is_subject else GREY))
    out: dict[tuple[int, int], np.ndarray] = {}
    if not want:
        return out
    last = max(want)
    frames = decode_frames(ws.video_path(tracks.video_id), ws.settings.ingest.fps, DecodeStats())
    try:
        for idx, rgb in frames:
            for tid, box, colour in want.get(idx, []):
                out[(tid, idx)] = _cut(rgb, box, colour)
            if idx >= last:
                break
    finally:
        frames.close()  # closes the container now, not when the generator is collected
    return out


def _missing_thumb() -> np.ndarray:
    img = np.full((THUMB, THUMB, 3), 200, np.uint8)
    draw_text(img, "no frame", 8, THUMB // 2 + 4, THUMB - 16, 0.42, GREY)
    return img


def _check(ws: Workspace, video_id: str) -> FaceTracks:
    """The video's faces, once it is known to be in the manifest, to have a faces table and a video file."""
    if video_id not in set(ws.video_ids(status=None)):
        raise AffcurateError(f"{video_id}: no such video in {ws.manifest_path}")
    tracks = FaceTracks.read(ws, video_id)
    if len(tracks) and not ws.video_path(video_id).exists():
        raise AffcurateError(f"{video_id}: {ws.video_path(video_id)} is missing; run `affcurate ingest {ws.root}`")
    return tracks


@writes_workspace("affcurate faces show")
def track_sheet(ws: Workspace, video_id: str, path: str | Path | None = None, n_thumbs: int = THUMBS,
                max_rows: int = MAX_ROWS) -> TrackSheet:
    """Write the PNG of ``video_id``'s tracks (default ``reports/tracks/<video>.png``) and return its layout."""
    out = Path(path) if path is not None else sheet_path(ws, video_id)
    if out.suffix.lower() != ".png":
        raise AffcurateError(f"{out}: the track sheet is a PNG, expected a path ending in .png")
    tracks = _check(ws, video_id)
    every = track_rows(tracks, n_thumbs)
    rows = _shown(every, max_rows)
    thumbs = _thumbnails(ws, tracks, rows)
    width = LABEL + n_thumbs * (THUMB + PAD) + PAD
    footer = 24 if len(rows) < len(every) or not rows else 0
    height = HEADER + ROW * len(rows) + footer + PAD
    img = np.full((height, width, 3), PAPER, np.uint8)
    method = {"manual": "picked by hand"}.get(str(tracks.meta.get("target_method")), tracks.meta.get("target_method"))
    subject = next((r.track_id for r in every if r.is_subject), None)
    head = f"{video_id}: {len(every)} track{'' if len(every) == 1 else 's'}"
    if tracks.n_frames:
        head += f" on {tracks.n_frames} frames"
    head += f", subject track {subject} ({method})" if subject is not None else ", no subject"
    draw_text(img, head, PAD, 26, width - 2 * PAD, 0.6, INK, 1)
    y = HEADER
    for r in rows:
        if r.is_subject:
            cv2.rectangle(img, (0, y), (MARK - 1, y + ROW - 4), GREEN, -1)
        draw_text(img, f"track {r.track_id}", PAD + MARK, y + 24, LABEL - 2 * PAD, 0.65, GREEN if r.is_subject else INK, 2)
        if r.is_subject:
            draw_text(img, "SUBJECT", PAD + MARK, y + 44, LABEL - 2 * PAD, 0.5, GREEN, 2)
        draw_text(img, f"{r.frames} frames ({r.first}-{r.last})", PAD + MARK, y + 64, LABEL - 2 * PAD, 0.45)
        draw_text(img, f"median score {r.median_score:.2f}, {r.detected} detected", PAD + MARK, y + 82,
              LABEL - 2 * PAD, 0.42, GREY)
        for k, f in enumerate(r.thumb_frames):
            x = LABEL + k * (THUMB + PAD)
            img[y + PAD:y + PAD + THUMB, x:x + THUMB] = thumbs.get((r.track_id, f), _missing_thumb())
            draw_text(img, f"frame {f}", x, y + PAD + THUMB + 13, THUMB, 0.36, GREY)
        cv2.line(img, (0, y + ROW - 2), (width, y + ROW - 2), RULE, 1)
        y += ROW
    if not rows:
        draw_text(img, "no faces found", PAD, y + 18, width - 2 * PAD, 0.5, GREY)
    elif len(rows) < len(every):
        draw_text(img, f"... and {len(every) - len(rows)} shorter tracks (faces/{video_id}.parquet has them all)",
              PAD, y + 18, width - 2 * PAD, 0.45, GREY)
    write_png(img, out)
    return TrackSheet(video_id, out, rows, every, height)
