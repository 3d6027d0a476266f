"""The linear baseline's landmarks: dlib's 68 points of each aligned crop, normalised, mirrored, kept per crop
in the run folder."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.faces.align import template
from affcurate.identity.model import weights_dir
from affcurate.train import landmarks
from affcurate.train.baselines import N_FEATURES
from affcurate.train.fitted import Affine, LinearState
from affcurate.train.landmarks import MIRROR_68, Landmarks, crop_points, normalise
from affcurate.train.predict import predict
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace


def crops_of(ws: Workspace, vid: str, n: int | None = None) -> np.ndarray:
    with h5py.File(ws.crops_path(vid)) as h5:
        return h5["crops"][:n]


def test_the_68_point_predictor_ships_beside_the_identity_weights() -> None:
    assert (weights_dir() / landmarks.PREDICTOR).is_file()
    assert landmarks.predictor() is landmarks.predictor()  # loaded once


def test_the_points_of_aligned_crops_lie_where_the_alignment_put_the_face(real_faces: Workspace) -> None:
    crops = crops_of(real_faces, "WolfgangLanger_Pexels")[::10]
    pts = crop_points(crops)
    assert pts.shape == (len(crops), 68, 2)
    t = template(crops.shape[1])  # eyes, nose tip, mouth corners of the aligned crop
    eyes = np.stack([pts[:, 36:42].mean(1), pts[:, 42:48].mean(1)], 1)
    assert np.abs(np.median(eyes, 0) - t[:2]).max() < 3.0
    assert np.abs(np.median(pts[:, [48, 54]], 0) - t[3:]).max() < 6.0
    # a crop upscaled: its points are those of the crop, scaled (the box follows the crop size)
    big = np.stack([np.kron(c, np.ones((2, 2, 1), np.uint8)) for c in crops[:5]])
    assert np.abs(crop_points(big) / 2 - pts[:5]).mean() < 1.0


@settings(max_examples=40, deadline=None)
@given(st.floats(-np.pi, np.pi), st.floats(0.2, 5.0), st.floats(-100, 100), st.floats(-100, 100))
def test_normalised_points_are_free_of_translation_scale_and_rotation(angle: float, scale: float, dx: float,
                                                                    dy: float) -> None:
    pts = np.random.default_rng(0).normal(size=(3, 68, 2)) * 10
    pts[:, 36:42] += [-20, 0]  # eyes apart, as on a face
    pts[:, 42:48] += [20, 0]
    r = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * pts @ r.T + [dx, dy]
    assert np.allclose(normalise(moved), normalise(pts), atol=1e-4)
    f = normalise(pts).reshape(3, 68, 2)
    assert np.allclose(f[:, 36:42].mean(1), [-0.5, 0], atol=1e-5) and np.allclose(f[:, 42:48].mean(1), [0.5, 0],
                                                                                  atol=1e-5)


def test_the_mirrored_points_are_dlibs_points_of_the_mirrored_crop(real_faces: Workspace) -> None:
    assert sorted(MIRROR_68) == list(range(68)) and (MIRROR_68[MIRROR_68] == np.arange(68)).all()
    crops = crops_of(real_faces, "single_face")[::6]
    flipped = np.ascontiguousarray(crops[:, :, ::-1])
    mirrored = normalise(crop_points(crops), mirror=True)
    # within a few hundredths of the eye distance: the renumbering is right (a wrong pair is off by ~1)
    assert np.abs(mirrored - normalise(crop_points(flipped))).mean() < 0.05
    assert np.abs(mirrored - normalise(crop_points(crops))).mean() > np.abs(mirrored - normalise(crop_points(flipped))).mean()


def test_the_points_are_kept_per_crop_in_the_run_folder_and_computed_again_for_other_crops(
        small_ws: Workspace) -> None:
    r = train_baseline(small_ws, models=["linear"], tasks=["au", "va"], name="lin", on_note=lambda _: None)
    kept = sorted(p.name for p in (r.run_dir / landmarks.FOLDER).iterdir())
    assert kept == ["WolfgangLanger_Pexels.npz", "face_noface.npz", "noface_face.npz", "single_face.npz"]
    info = r.metrics["linear"]["model"]["landmarks"]
    n_crops = sum(len(crops_of(small_ws, v)) for v in ("WolfgangLanger_Pexels", "face_noface", "noface_face",
                                                       "single_face"))
    assert info["crops_computed"] == n_crops and info["crops_from_cache"] == 0 and info["ms_per_crop"] > 0
    assert info["on"] == "aligned crops"
    # trained again: every point read back, none computed
    (r.run_dir / "linear" / "metrics.json").unlink()
    again = train_baseline(small_ws, models=["linear"], tasks=["au", "va"], name="lin", on_note=lambda _: None)
    info = again.metrics["linear"]["model"]["landmarks"]
    assert info["crops_computed"] == 0 and info["crops_from_cache"] == n_crops
    assert again.metrics["linear"]["au"] == r.metrics["linear"]["au"]
    # crops written again (here: mirrored) have other points; a damaged file is computed again
    path = small_ws.crops_path("single_face")
    with h5py.File(path, "r+") as h5:
        h5["crops"][...] = h5["crops"][:][:, :, ::-1]
    (r.run_dir / landmarks.FOLDER / "face_noface.npz").write_bytes(b"broken")
    lm = Landmarks(r.run_dir / landmarks.FOLDER, write=True)
    fresh = lm.of_video(small_ws, "single_face")
    assert np.allclose(fresh, crop_points(crops_of(small_ws, "single_face")))
    lm.of_video(small_ws, "face_noface")
    assert lm.timing["crops"] == len(fresh) + len(crops_of(small_ws, "face_noface"))
    assert Landmarks(r.run_dir / landmarks.FOLDER, write=False).of_video(small_ws, "face_noface").shape[1:] == (68, 2)


def test_a_linear_model_of_the_older_features_is_refused_in_one_line(small_ws: Workspace, real_faces: Workspace) -> None:
    r = train_baseline(small_ws, models=["linear"], tasks=["va"], name="old", on_note=lambda _: None)
    old = 10 + 1764  # five points and HOG: what linear.npz held before the 68 landmarks
    ridge = Affine(np.zeros(old), np.ones(old), np.zeros((1, old)), np.zeros(1))
    state = LinearState.load(r.run_dir / "linear" / "linear.npz")
    state.va = [ridge, 0.0]
    state.save(r.run_dir / "linear" / "linear.npz")
    for vid in real_faces.video_ids():
        if real_faces.frames_path(vid).exists():
            small_ws.frames_path(vid).parent.mkdir(parents=True, exist_ok=True)
            small_ws.frames_path(vid).write_bytes(real_faces.frames_path(vid).read_bytes())
    with pytest.raises(AffcurateError, match=f"was trained on 1774 features by an older version \\(this one uses "
                                             f"{N_FEATURES}\\): train the run again with --overwrite$"):
        predict(small_ws, "old", "linear", videos=["single_face"])
    assert not (small_ws.annotations_dir / "old-linear").exists()
    assert io.read_json(r.run_dir / "config.json")["models"] == ["linear"]
