"""Choosing the subject (the person the dataset is about) among the tracks of a video."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks

TARGET_METHODS = ("score", "nearest-centre")


def track_scores(tracks: FaceTracks, width: int, height: int, n_frames: int) -> pd.DataFrame:
    """Per track: share of frames present × typical face size × closeness to the frame centre."""
    if len(tracks) == 0:
        return pd.DataFrame(columns=["track_id", "presence", "size", "centrality", "score"])
    x1, y1, x2, y2 = tracks.boxes.T
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    size = np.sqrt(np.maximum(x2 - x1, 1) * np.maximum(y2 - y1, 1))
    half_diag = 0.5 * np.hypot(width, height)
    df = pd.DataFrame({
        "track_id": tracks.track_id, "frame": tracks.frame,
        "size": size / max(height, 1),
        "centrality": 1 - np.hypot(cx - width / 2, cy - height / 2) / half_diag,
    })
    g = df.groupby("track_id")
    out = pd.DataFrame({
        "presence": g["frame"].nunique() / max(n_frames, 1),
        "size": g["size"].median(),
        "centrality": g["centrality"].median().clip(lower=0.01),
    })
    out["score"] = out["presence"] * out["size"] * out["centrality"]
    return out.reset_index()


# a track counts as one of the video's people (for a side) when it scores at least this share of the best one
MAIN_TRACK_SHARE = 0.2


def choose_target(tracks: FaceTracks, width: int, height: int, n_frames: int, method: str = "score",
                  override: int | None = None, side: str | None = None) -> tuple[np.ndarray, int | None]:
    """``is_target`` for every face of ``tracks``, and the target track (None for nearest-centre, whose choice
    may move between tracks, for a side, or when there are no faces). ``override`` is a track chosen by hand;
    ``side`` (left or right) names the person on that side of the frame in a video with several subjects."""
    if len(tracks) == 0:
        return np.zeros(0, bool), None
    if override is not None:
        if override not in tracks.track_ids:
            raise AffcurateError(f"track {override} is not in this video; its tracks are {tracks.track_ids}")
        return tracks.track_id == override, int(override)
    if side is not None:
        return _on_side(tracks, width, height, n_frames, side), None
    if method == "score":
        scores = track_scores(tracks, width, height, n_frames)
        best = int(scores.loc[scores["score"].idxmax(), "track_id"])
        return tracks.track_id == best, best
    if method == "nearest-centre":
        return _nearest_centre(tracks), None
    raise AffcurateError(f"unknown target method {method!r}: expected one of {', '.join(TARGET_METHODS)}")


def _nearest_centre(tracks: FaceTracks) -> np.ndarray:
    """Seed 001: start with the largest face; then, in each frame, the face whose centre is nearest the
    previous target's centre."""
    x1, y1, x2, y2 = tracks.boxes.T
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    area = (x2 - x1) * (y2 - y1)
    frames = tracks.frame
    order = np.argsort(frames, kind="stable")
    is_target = np.zeros(len(tracks), bool)
    prev = None
    bounds = np.flatnonzero(np.diff(frames[order])) + 1
    for group in np.split(order, bounds):
        if prev is None:
            pick = group[np.argmax(area[group])]
        else:
            d = np.hypot(cx[group] - prev[0], cy[group] - prev[1])
            pick = group[np.argmin(d)]
        is_target[pick] = True
        prev = (cx[pick], cy[pick])
    return is_target


def _on_side(tracks: FaceTracks, width: int, height: int, n_frames: int, side: str) -> np.ndarray:
    """The faces of the main tracks (those scoring at least ``MAIN_TRACK_SHARE`` of the best) whose median
    centre is on ``side`` of the frame; in a frame with two of them, the one nearest that edge."""
    if side not in ("left", "right"):
        raise AffcurateError(f"unknown side {side!r}: expected left or right")
    scores = track_scores(tracks, width, height, n_frames)
    main = scores.loc[scores["score"] >= MAIN_TRACK_SHARE * scores["score"].max(), "track_id"].to_numpy()
    cx = (tracks.boxes[:, 0] + tracks.boxes[:, 2]) / 2
    centre = pd.Series(cx).groupby(tracks.track_id).median()
    on_side = [t for t in main if (centre[t] < width / 2) == (side == "left")]
    if not on_side:  # everyone is on one side: the one nearest the named edge
        on_side = [min(main, key=lambda t: centre[t] if side == "left" else -centre[t])]
    rows = np.flatnonzero(np.isin(tracks.track_id, on_side))
    key = cx[rows] if side == "left" else -cx[rows]
    order = rows[np.lexsort((key, tracks.frame[rows]))]  # per frame, nearest the edge first
    _, first = np.unique(tracks.frame[order], return_index=True)
    is_target = np.zeros(len(tracks), bool)
    is_target[order[first]] = True
    return is_target
