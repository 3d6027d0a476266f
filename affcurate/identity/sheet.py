"""Pictures of the identities: the contact sheet (one row of face thumbnails per identity, findings first) and a
sheet of video pairs (for a split check's leaks), drawn with OpenCV from the aligned crops in ``crops/<id>.h5``.

Each video's thumbnail is its crop at the frame of its best-posed descriptor frame.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.identity.descriptors import read_descriptors
from affcurate.identity.reconcile import SEVERAL_SUBJECTS
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace

THUMB = 96
LABEL = 300
PAD = 8
PER_ROW = 8
MAX_ROWS = 200
FONT = cv2.FONT_HERSHEY_SIMPLEX
INK, GREY, RED, GREEN, PAPER = (30, 30, 30), (110, 110, 110), (40, 40, 200), (40, 140, 40), (250, 250, 250)


def _ascii(text: object) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in str(text))


def draw_text(img: np.ndarray, text: object, x: int, y: int, width: int, scale: float = 0.42,
          colour: tuple[int, int, int] = INK, thick: int = 1) -> None:
    """``text`` at (x, baseline y), cut with '..' to fit ``width`` pixels (non-ASCII letters become '?': the
    Hershey fonts have no others)."""
    s = _ascii(text)
    while s and cv2.getTextSize(s, FONT, scale, thick)[0][0] > width:
        s = s[:-3] + ".." if len(s) > 3 else ""
    cv2.putText(img, s, (x, y), FONT, scale, colour, thick, cv2.LINE_AA)


def best_frames(ws: Workspace) -> dict[str, int]:
    """Per video, the frame of its best-posed descriptor (the thumbnail's frame)."""
    try:
        df = read_descriptors(ws)
    except AffcurateError:  # no descriptors yet: thumbnails fall back to the middle crop
        return {}
    if df.empty:
        return {}
    best = df.sort_values(["video_id", "pose", "frame"], ascending=[True, False, True]).drop_duplicates("video_id")
    return dict(zip(best["video_id"], best["frame"].astype(int), strict=True))


def thumbnail(ws: Workspace, video_id: str, frame: int | None = None, size: int = THUMB) -> np.ndarray:
    """A ``size``×``size`` BGR thumbnail of the subject's aligned crop at ``frame`` (the nearest crop; the middle
    one when ``frame`` is None); a grey square when the video has no crops."""
    path = ws.crops_path(video_id)
    out = np.full((size, size, 3), 200, np.uint8)
    draw_text(out, "no face", 8, size // 2 + 4, size - 16, 0.45, GREY)
    if not path.exists():
        return out
    try:
        with h5py.File(path, "r") as h5:
            frames = h5["frames"][:]
            if len(frames) == 0:
                return out
            pos = len(frames) // 2 if frame is None else int(np.clip(np.searchsorted(frames, frame), 0, len(frames) - 1))
            crop = h5["crops"][pos]
    except (OSError, KeyError):
        return out
    return cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), (size, size), interpolation=cv2.INTER_AREA)


def _order(identities: pd.DataFrame, findings: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Identities with findings first (open, then reviewed, in the findings' order), then the rest by name;
    and each identity's finding notes."""
    notes: dict[str, list[str]] = {}
    first: list[str] = []
    for f in findings.itertuples():
        for name in f.identities:
            if f.kind == SEVERAL_SUBJECTS:
                note = f"{len(f.subjects)} subject ids, one person"
            else:
                note = f"subject {f.subject} is also in {', '.join(n for n in f.identities if n != name)}"
            notes.setdefault(name, []).append(("reviewed: " if f.reviewed else "") + note)
            if name not in first:
                first.append(name)
    rest = sorted(set(identities["identity"].dropna()) - set(first))
    return first + rest, notes


@writes_workspace("affcurate subjects")
def contact_sheet(ws: Workspace, path: str | Path | None = None, max_rows: int = MAX_ROWS) -> Path:
    """Write the contact sheet PNG (default ``identity/contact_sheet.png``) of the last ``affcurate subjects``
    run and return its path."""
    from affcurate.identity.stage import read_findings, read_identities, sheet_path

    path = Path(path) if path is not None else sheet_path(ws)
    identities, findings = read_identities(ws), read_findings(ws)
    names, notes = _order(identities, findings)
    shown = names[:max_rows]
    frames = best_frames(ws)
    row_h = THUMB + 2 * PAD + 30  # two lines under each thumbnail: video id, subject
    width = LABEL + PER_ROW * (THUMB + PAD) + PAD
    faceless = identities.loc[identities["identity"].isna(), "video_id"].tolist()
    extra = (1 if faceless else 0) + (1 if len(names) > len(shown) else 0)
    img = np.full((40 + row_h * len(shown) + 24 * extra + PAD, width, 3), PAPER, np.uint8)
    n_open = int((~findings["reviewed"]).sum())
    draw_text(img, f"{ws.root.name}: {len(names)} identities of {len(identities)} videos, {n_open} open "
          f"finding{'' if n_open == 1 else 's'} (threshold {ws.settings.subjects.threshold})", PAD, 26,
          width - 2 * PAD, 0.6, INK, 1)
    y = 40
    for name in shown:
        rows = identities[identities["identity"] == name].sort_values("video_id")
        flagged = name in notes
        open_finding = any(not n.startswith("reviewed") for n in notes.get(name, []))
        if open_finding:
            cv2.rectangle(img, (0, y), (4, y + row_h - 4), RED, -1)
        draw_text(img, name, PAD + 4, y + 22, LABEL - 2 * PAD, 0.62, RED if open_finding else INK, 2)
        conf = rows["confidence"].mean()
        count = f"{len(rows)} video{'' if len(rows) == 1 else 's'}"
        draw_text(img, f"{count}, confidence {conf:.2f}" if conf == conf else count, PAD + 4, y + 42, LABEL - 2 * PAD,
              0.42, GREY)
        subj = sorted(set(rows["subject"].dropna().astype(str)))
        draw_text(img, "subjects: " + (", ".join(subj) if subj else "none given"), PAD + 4, y + 60, LABEL - 2 * PAD)
        for k, note in enumerate(notes.get(name, [])[:3]):
            draw_text(img, note, PAD + 4, y + 78 + 16 * k, LABEL - 2 * PAD, 0.4,
                  GREEN if note.startswith("reviewed") else RED)
        if rows["confirmed"].all() and not flagged:
            draw_text(img, "confirmed", PAD + 4, y + 78, LABEL - 2 * PAD, 0.4, GREEN)
        for k, r in enumerate(rows.head(PER_ROW).itertuples()):
            x = LABEL + k * (THUMB + PAD)
            if k == PER_ROW - 1 and len(rows) > PER_ROW:
                draw_text(img, f"+{len(rows) - PER_ROW + 1} more", x + 8, y + PAD + THUMB // 2, THUMB - 8, 0.5, GREY)
                break
            img[y + PAD:y + PAD + THUMB, x:x + THUMB] = thumbnail(ws, r.video_id, frames.get(r.video_id))
            draw_text(img, r.video_id, x, y + PAD + THUMB + 13, THUMB, 0.34)
            if isinstance(r.subject, str):
                draw_text(img, r.subject, x, y + PAD + THUMB + 27, THUMB, 0.34, GREY)
        cv2.line(img, (0, y + row_h - 2), (width, y + row_h - 2), (220, 220, 220), 1)
        y += row_h
    if len(names) > len(shown):
        draw_text(img, f"... and {len(names) - len(shown)} more identities (identity/identities.parquet lists them all)",
              PAD, y + 18, width - 2 * PAD, 0.45, GREY)
        y += 24
    if faceless:
        draw_text(img, f"no face ({len(faceless)}): " + ", ".join(faceless), PAD, y + 18, width - 2 * PAD, 0.45, GREY)
    return write_png(img, path)


def pair_sheet(ws: Workspace, pairs: pd.DataFrame, path: str | Path, max_rows: int = MAX_ROWS) -> Path:
    """A PNG with one row per pair of videos (columns video_a, video_b, distance, and optionally split_a,
    split_b): the two faces side by side with their ids and distance."""
    frames = best_frames(ws)
    rows = list(pairs.head(max_rows).itertuples())
    width = 2 * (THUMB + PAD) + 360
    img = np.full((PAD + max(len(rows), 1) * (THUMB + PAD) + PAD, width, 3), PAPER, np.uint8)
    for k, r in enumerate(rows):
        y = PAD + k * (THUMB + PAD)
        for c, vid in enumerate((r.video_a, r.video_b)):
            img[y:y + THUMB, PAD + c * (THUMB + PAD):PAD + c * (THUMB + PAD) + THUMB] = thumbnail(ws, vid, frames.get(vid))
        x = 2 * (THUMB + PAD) + PAD
        where = [getattr(r, "split_a", None), getattr(r, "split_b", None)]
        for line, text in enumerate((f"{r.video_a}" + (f" ({where[0]})" if where[0] else ""),
                                     f"{r.video_b}" + (f" ({where[1]})" if where[1] else ""),
                                     f"distance {r.distance:.3f}")):
            draw_text(img, text, x, y + 24 + 22 * line, width - x - PAD, 0.48, RED if line == 2 else INK)
    if not rows:
        draw_text(img, "no pairs", PAD, PAD + 24, width - 2 * PAD, 0.5, GREY)
    return write_png(img, Path(path))


def write_png(img: np.ndarray, path: Path) -> Path:
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode the picture")
    io.write_bytes(path, buf.tobytes())
    return path
