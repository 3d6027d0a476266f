"""Small workspaces with real frame maps and real annotation files, merged by the real merge, for the report."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from affcurate import io
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotations
from affcurate.media.manifest import normalise
from affcurate.workspace import Workspace

AUS = ["AU1", "AU12"]


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


def au_annotation(vid: str, n: int, on: dict[str, np.ndarray], annotator: str = "ann1") -> Annotation:
    """A complete dense AU table of ``n`` grid frames: each AU present where ``on[au]`` is True."""
    data = pd.DataFrame({"frame": np.arange(n), **{a: on[a].astype(int) for a in AUS}})
    return Annotation(vid, "au", annotator, data, source="test", clock="grid", time_base="frame", shape="dense",
                      complete=True)


# grid frames per video (30 fps sources), batch, subject and gender
VIDEOS = {"v1": (60, "1", "s1", "m"), "v2": (90, "1", "s2", "f"), "v3": (120, "2", "s3", "m"),
          "v4": (60, "2", "s4", "f"), "v5": (30, "2", "s5", "male")}


@pytest.fixture
def make_ws():  # noqa: ANN201
    """The :func:`make_workspace` factory."""
    return make_workspace


@pytest.fixture
def au_table():  # noqa: ANN201
    """The :func:`au_annotation` factory."""
    return au_annotation


@pytest.fixture
def au_ws(tmp_path: Path) -> SimpleNamespace:
    """Five videos in two batches, AU1/AU12 labelled on every frame (present on some), merged keeping only the
    AU-positive frames: ``ws``, what was annotated (``on[video][au]``), ``videos`` (:data:`VIDEOS`), ``aus``."""
    ws = make_workspace(tmp_path / "ws", {vid: {"n_src": n, "src_fps": 30.0, "subject": subj,
                                                "meta": {"batch": batch, "gender": gender}}
                                          for vid, (n, batch, subj, gender) in VIDEOS.items()},
                        {"labels": {"aus": AUS}})
    rng = np.random.default_rng(7)
    on = {vid: {a: rng.random(n) < p for a, p in zip(AUS, (0.3, 0.5), strict=True)}
          for vid, (n, *_) in VIDEOS.items()}
    write_annotations(ws, [au_annotation(vid, VIDEOS[vid][0], on[vid]) for vid in VIDEOS])
    merge(ws, keep="au-positive")
    return SimpleNamespace(ws=ws, on=on, videos=VIDEOS, aus=AUS)
