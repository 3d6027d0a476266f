"""Synthetic workspaces shaped like real curations, for benchmarks and tests of the table stages (split,
merge, report). Labels are random but with the statistics of the named dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.media.manifest import normalise
from affcurate.workspace import Workspace

# Seed 001, Table 3.2: AU frame counts over 233,459 frames of 64 videos of 59 people.
SEED001_AUS = {"AU1": 43948, "AU2": 25312, "AU4": 38879, "AU6": 48185, "AU12": 45291, "AU15": 7023, "AU20": 9270,
               "AU25": 17741}
SEED001_FRAMES = 233_459


def labelled_workspace(root: str | Path, n_videos: int, n_subjects: int, frames: int, au_rates: dict[str, float],
                       seed: int = 0, n_expr: int = 8, video_skew: float = 1.0) -> Workspace:
    """A workspace with a manifest and ``labels.parquet`` only. Each video has its own AU propensities
    (videos differ, as real ones do: a video of someone crying has many AU4 frames), expression and VA."""
    rng = np.random.default_rng(seed)
    ws = Workspace.init(root)
    s = ws.settings
    ws.save_settings(s.replace("labels", aus=list(au_rates)))
    ws = Workspace.open(root)
    lengths = rng.lognormal(0, 0.6, n_videos)
    lengths = np.maximum((lengths / lengths.sum() * frames).astype(int), 30)
    subjects = np.r_[np.arange(n_subjects), rng.integers(0, n_subjects, max(0, n_videos - n_subjects))]
    rng.shuffle(subjects)
    vids = [f"v{i:05d}" for i in range(n_videos)]
    manifest = normalise(pd.DataFrame({
        "video_id": vids, "path": [f"/data/{v}.mp4" for v in vids], "kind": "video", "status": "ok",
        "subject": [f"s{x:05d}" for x in subjects], "out_frames": lengths, "n_frames": lengths,
        "duration": lengths / 30.0, "avg_fps": 30.0,
        "meta": [f'{{"gender": "{"f" if x % 2 else "m"}"}}' for x in subjects]}))
    ws.write_manifest(manifest)
    total = int(lengths.sum())
    vid_of = np.repeat(np.arange(n_videos), lengths)
    frame = np.concatenate([np.arange(n) for n in lengths])
    cols: dict[str, np.ndarray] = {}
    for au, rate in au_rates.items():
        # per-video propensity from a Beta with the target mean; skew makes videos more different
        a = max(rate * 4 / video_skew, 0.05)
        b = max((1 - rate) * 4 / video_skew, 0.05)
        p = rng.beta(a, b, n_videos)
        p *= rate / max(np.average(p, weights=lengths), 1e-9)
        cols[au] = (rng.random(total) < np.clip(p, 0, 1)[vid_of]).astype(np.int8)
    expr_p = rng.dirichlet(np.ones(n_expr) * 0.5, n_videos)
    cum = expr_p.cumsum(1)[vid_of]
    expr = (rng.random(total)[:, None] > cum).sum(1).astype(np.int8)
    centre = rng.uniform(-0.6, 0.6, (n_videos, 2))
    va = np.clip(centre[vid_of] + rng.normal(0, 0.2, (total, 2)), -1, 1)
    labels = pd.DataFrame({"video_id": np.asarray(vids)[vid_of], "frame": frame,
                           **{k: pd.array(v, dtype="Int8") for k, v in cols.items()},
                           "expr": pd.array(np.minimum(expr, n_expr - 1), dtype="Int8"),
                           "valence": va[:, 0].astype(np.float32), "arousal": va[:, 1].astype(np.float32),
                           "has_face": True})
    io.write_parquet(labels, ws.labels_path)
    return ws


def seed001_workspace(root: str | Path, seed: int = 0) -> Workspace:
    """64 videos, 59 subjects, the AU rates of seed 001's Table 3.2."""
    rates = {k: v / SEED001_FRAMES for k, v in SEED001_AUS.items()}
    return labelled_workspace(root, 64, 59, SEED001_FRAMES, rates, seed)
