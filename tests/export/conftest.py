"""A small workspace of real aligned crops (three sample videos, three subjects' splits) with labels that have
holes in every task, for the exports' tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from affcurate import io
from affcurate.flow import ingest
from affcurate.labels.table import LabelTable
from affcurate.workspace import Workspace

VIDEOS = {"WolfgangLanger_Pexels": "train", "single_face": "val", "face_noface": "test"}
STEP = 4  # every 4th crop is labelled: a few hundred frames in all


@pytest.fixture(scope="session")
def export_ws(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Ingested (faces, crops) from real samples; labelled like a person labels: AU1 on blue-tinted crops (red and
    blue swapped), its intensity 3, AU12 absent, Sadness or Happiness, valence ±0.5, arousal never; each column
    with frames left unlabelled. Licences in the manifest's meta, as an ingest list with a licence column gives."""
    src = tmp_path_factory.mktemp("src")
    for name in VIDEOS:
        ext = ".mp4" if name != "face_noface" else ".mov"
        shutil.copy(samples / f"{name}{ext}", src / f"{name}{ext}")
    ws = Workspace.init(tmp_path_factory.mktemp("export") / "ws", exist_ok=True)
    ingest(ws, src)
    rng = np.random.default_rng(0)
    rows = []
    for vid in VIDEOS:
        with h5py.File(ws.crops_path(vid), "r+") as h5:
            crops = h5["crops"][:]
            tint = rng.random(len(crops)) < 0.5
            h5["crops"][...] = np.where(tint[:, None, None, None], crops[..., ::-1], crops)
            frames = h5["frames"][:]
        keep = np.arange(0, len(frames), STEP)
        f, t = frames[keep], tint[keep]
        i = np.arange(len(f))
        au1 = np.where(i % 5 == 1, np.nan, t.astype(float))
        rows.append(pd.DataFrame({
            "video_id": vid, "frame": f, "AU1": au1, "AU1_intensity": np.where(np.isnan(au1), np.nan, 3.0 * t),
            "AU12": np.where(i % 7 == 3, np.nan, 0.0), "expr": np.where(i % 3 == 2, np.nan, np.where(t, 5.0, 4.0)),
            "valence": np.where(i % 4 == 0, np.nan, np.where(t, -0.5, 0.5)), "arousal": np.nan}))
    # a frame labelled but without a crop: left out of the exports
    rows.append(pd.DataFrame({"video_id": ["single_face"], "frame": [10_000], "AU1": [1.0]}))
    LabelTable.from_frame(pd.concat(rows, ignore_index=True), ["AU1", "AU12"], 8).write(ws)
    io.write_parquet(pd.DataFrame({"video_id": list(VIDEOS), "subject": ["woman", "man", "man2"],
                                   "split": list(VIDEOS.values())}), ws.splits_path)
    m = ws.manifest(with_faces=False)
    m["meta"] = [json.dumps({"licence": "MIT"}) for _ in range(len(m))]
    ws.write_manifest(m)
    ws.save_settings(ws.settings.replace("labels", aus=["AU1", "AU12"]))
    return Workspace.open(ws.root)
