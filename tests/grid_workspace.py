"""Small synthetic workspaces with real frame maps (written like ingest writes them), for label, merge and report
tests: ``from grid_workspace import make_workspace`` (this folder is on the tests' path)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.media.manifest import normalise
from affcurate.workspace import Workspace


def make_workspace(root: Path, videos: dict[str, dict], settings: dict | None = None) -> Workspace:
    """``videos``: id -> {n_src, src_fps, subject, meta}; frame maps of a constant-rate source put on a 30 fps
    grid with the same nearest rounding as the transcoder; ``meta`` is a list's metadata (e.g. batch, gender)."""
    ws = Workspace.init(root)
    if settings:
        s = ws.settings
        for section, values in settings.items():
            s = s.replace(section, **values)
        ws.save_settings(s)
        ws = Workspace.open(root)
    rows = []
    for vid, v in videos.items():
        n_src, src_fps = v["n_src"], v["src_fps"]
        duration = n_src / src_fps
        n = int(round(duration * 30))
        t = np.arange(n) / 30
        src = np.minimum(np.floor((t + 0.5 / 30) * src_fps + 1e-9).astype(int), n_src - 1)
        fm = pd.DataFrame({"frame": np.arange(n), "time": t, "src_frame": src, "src_time": src / src_fps,
                           "repeated": np.r_[False, src[1:] == src[:-1]], "src_name": pd.array([None] * n, "string")})
        io.write_parquet(fm, ws.frames_path(vid))
        rows.append({"video_id": vid, "path": f"/data/{vid}.mp4", "kind": "video", "sha256": vid * 2,
                     "status": "ok", "subject": v.get("subject"), "avg_fps": src_fps, "n_frames": n_src,
                     "duration": duration, "out_frames": n, "width": 640, "height": 360, "rotation": 0,
                     "meta": json.dumps(v["meta"], sort_keys=True) if v.get("meta") else None})
    ws.write_manifest(normalise(pd.DataFrame(rows)))
    return ws
