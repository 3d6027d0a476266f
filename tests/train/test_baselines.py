"""The baselines' one interface: every registered model declares it, and a new one plugged into the registry is
trained, scored, benchmarked and resumed by the runner like the bundled ones."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.faces.table import FaceTracks
from affcurate.train import registry
from affcurate.train.base import Baseline, Predictions
from affcurate.train.baselines import _geometry
from affcurate.train.data import CropDataset, Index, build_index
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

SETTINGS = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "seed": 0, "input_size": 32, "workers": 0, "window": 3}


def test_every_registered_baseline_declares_the_interface() -> None:
    assert registry.names() == ("prior", "linear", "cnn", "cnn-gru")
    for name, cls in registry.BASELINES.items():
        assert issubclass(cls, Baseline) and not inspect.isabstract(cls), name
        assert cls.name == name
        model = registry.make_model(name, ("au", "va"), **SETTINGS)
        assert isinstance(model, Baseline) and model.tasks == ("au", "va")
        assert model.describe() == {"name": name}  # nothing fitted yet
        assert model.throughput() is None


def test_an_unknown_model_names_every_registered_one(small_ws: Workspace) -> None:
    with pytest.raises(AffcurateError, match="unknown model 'svm': expected some of prior, linear, cnn, cnn-gru$"):
        train_baseline(small_ws, models=["prior", "svm"])


def blue_minus_red(ws: Workspace, index: Index) -> np.ndarray:
    """Per crop, mean blue minus mean red: the tint the learnable workspace labels."""
    ds = CropDataset(ws, index, 32)
    out = np.array([float(ds.crop_image(v, int(c))[..., 2].mean()) - float(ds.crop_image(v, int(c))[..., 0].mean())
                    for v, c in zip(ds._vid, ds._crop, strict=True)])
    ds.close()
    return out


class Tint(Baseline):
    """A baseline outside the package: one threshold on the colour of the crop, learnt on the train split."""

    name = "tint"
    fits = 0

    def __init__(self, tasks: tuple[str, ...], **settings: Any):
        super().__init__(tasks, **settings)
        self.epochs = settings["epochs"]

    def fit(self, ws: Workspace, train: Index, val: Index | None, out: Path, log: Callable[..., None],
            note: Callable[[str], None]) -> None:
        Tint.fits += 1
        x, tinted = blue_minus_red(ws, train), train.au[:, 0] == 1
        known = train.au_mask[:, 0]
        self.cut = float((x[known & tinted].mean() + x[known & ~tinted].mean()) / 2)
        io.write_json(out / "tint.json", {"cut": self.cut})
        log(epoch=1, cut=self.cut)

    def predict(self, ws: Workspace, index: Index) -> Predictions:
        tinted = blue_minus_red(ws, index) > self.cut
        au = np.stack([tinted.astype(float), np.zeros(len(index))], 1)
        return Predictions(au, np.where(tinted, 5, 4), np.stack([np.where(tinted, -0.5, 0.5), np.zeros(len(index))], 1))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "cut": round(self.cut, 3)}


@pytest.fixture
def tint() -> Iterator[type[Baseline]]:
    registry.register(Tint)
    Tint.fits = 0
    yield Tint
    registry.BASELINES.pop(Tint.name)


def test_a_plugged_in_baseline_is_trained_and_benchmarked_by_the_runner(small_ws: Workspace,
                                                                        tint: type[Baseline]) -> None:
    r = train_baseline(small_ws, models=["prior", "tint"], tasks=["au", "expr", "va"], epochs=1, name="plug")
    saved = json.loads((r.run_dir / "tint" / "metrics.json").read_text())
    assert saved["model"]["name"] == "tint" and "cut" in saved["model"]
    # held-out subjects: the colour rule learnt on the woman's crops holds on the man's, the prior cannot
    assert saved["au"]["f1_AU1"] >= 0.9 > r.metrics["prior"]["au"]["f1_AU1"]
    assert saved["expr"]["f1_macro"] >= 0.9 and saved["va"]["ccc_valence"] >= 0.8
    assert [json.loads(x)["epoch"] for x in (r.run_dir / "tint" / "log.jsonl").read_text().splitlines()] == [1]
    assert (r.run_dir / "tint" / "tint.json").exists()
    assert "| tint" in (r.run_dir / "benchmark.md").read_text()
    assert "tint" in (r.run_dir / "MODEL_CARD.md").read_text()
    every_run = json.loads((small_ws.runs_dir / "benchmark.json").read_text())
    assert [(row["run"], row["model"]) for row in every_run] == [("plug", "prior"), ("plug", "tint")]
    # the same call again finds the scored baseline done: it is not fitted again, its numbers stay
    again = train_baseline(small_ws, models=["prior", "tint"], tasks=["au", "expr", "va"], epochs=1, name="plug")
    assert Tint.fits == 1 and again.metrics["tint"]["au"] == saved["au"]


def test_the_registry_refuses_what_is_not_a_baseline_or_takes_a_name(tint: type[Baseline]) -> None:
    class NotOne:
        name = "other"

    class Twin(Tint):
        pass

    class BadName(Tint):
        name = "../up"

    with pytest.raises(TypeError, match="not a Baseline subclass"):
        registry.register(NotOne)  # type: ignore[arg-type]
    with pytest.raises(AffcurateError, match="baseline name 'tint' is already taken by Tint"):
        registry.register(Twin)
    with pytest.raises(AffcurateError, match="invalid baseline name '../up'"):
        registry.register(BadName)
    assert registry.register(Tint) is Tint and registry.names()[-1] == "tint"


def test_linear_geometry_is_the_subjects_landmarks_and_zero_without_its_faces(small_ws: Workspace) -> None:
    index = build_index(small_ws)
    geo = _geometry(small_ws, index).reshape(len(index), 5, 2)
    for vid in ("WolfgangLanger_Pexels", "single_face"):
        rows = np.flatnonzero(index.table["video_id"].to_numpy() == vid)
        present = np.isin(index.table["frame"].to_numpy()[rows], FaceTracks.read(small_ws, vid).target().frame)
        assert present.any()
        # eye-centred and scaled by the eye distance: each eye lies half a unit from the origin
        assert np.allclose(np.linalg.norm(geo[rows[present], :2], axis=2), 0.5, atol=1e-4)
        assert not geo[rows[~present]].any()
    small_ws.faces_path("single_face").unlink()  # a video whose faces table is gone has no geometry, no error
    rows = index.table["video_id"].to_numpy() == "single_face"
    assert not _geometry(small_ws, index)[rows].any()
