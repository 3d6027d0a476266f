"""Choosing the subject (the person the dataset is about) among the tracks of a video."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affcurate.errors import AffcurateError

TARGET_METHODS = ("score", "nearest-centre")


def track_scores(faces: pd.DataFrame, width: int, height: int, n_frames: int) -> pd.DataFrame:
    """Per track: share of frames present × typical face size × closeness to the frame centre."""
    if faces.empty:
        return pd.DataFrame(columns=["track_id", "presence", "size", "centrality", "score"])
    cx = (faces["x1"] + faces["x2"]) / 2
    cy = (faces["y1"] + faces["y2"]) / 2
    size = np.sqrt((faces["x2"] - faces["x1"]).clip(lower=1) * (faces["y2"] - faces["y1"]).clip(lower=1))
    half_diag = 0.5 * np.hypot(width, height)
    df = pd.DataFrame({
        "track_id": faces["track_id"], "frame": faces["frame"],
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


def choose_target(faces: pd.DataFrame, width: int, height: int, n_frames: int, method: str = "score",
                  override: int | None = None) -> tuple[np.ndarray, int | None]:
    """``is_target`` for every row of the faces table, and the target track (None for nearest-centre, whose
    choice may move between tracks, or when there are no faces)."""
    if faces.empty:
        return np.zeros(0, bool), None
    if override is not None:
        tracks = sorted(int(t) for t in faces["track_id"].unique())
        if override not in tracks:
            raise AffcurateError(f"track {override} is not in this video; its tracks are {tracks}")
        return (faces["track_id"] == override).to_numpy(), int(override)
    if method == "score":
        scores = track_scores(faces, width, height, n_frames)
        best = int(scores.loc[scores["score"].idxmax(), "track_id"])
        return (faces["track_id"] == best).to_numpy(), best
    if method == "nearest-centre":
        return _nearest_centre(faces), None
    raise AffcurateError(f"unknown target method {method!r}: expected one of {', '.join(TARGET_METHODS)}")


def _nearest_centre(faces: pd.DataFrame) -> np.ndarray:
    """Seed 001: start with the largest face; then, in each frame, the face whose centre is nearest the
    previous target's centre."""
    cx = ((faces["x1"] + faces["x2"]) / 2).to_numpy()
    cy = ((faces["y1"] + faces["y2"]) / 2).to_numpy()
    area = ((faces["x2"] - faces["x1"]) * (faces["y2"] - faces["y1"])).to_numpy()
    frames = faces["frame"].to_numpy()
    order = np.argsort(frames, kind="stable")
    is_target = np.zeros(len(faces), bool)
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
