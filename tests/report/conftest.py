"""Small workspaces with real frame maps and real annotation files, merged by the real merge, for the report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from grid_workspace import make_workspace

from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotations

AUS = ["AU1", "AU12"]


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
