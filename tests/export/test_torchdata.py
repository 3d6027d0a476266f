"""`affcurate.torchdata.WorkspaceDataset`: the labelled crops of a split as tensors, through a DataLoader with and
without worker processes."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.torchdata import WorkspaceDataset
from affcurate.workspace import Workspace


def _labels(ws: Workspace, split: str) -> pd.DataFrame:
    labels = io.read_parquet(ws.labels_path)
    splits = io.read_parquet(ws.splits_path)
    return labels.merge(splits[splits["split"] == split][["video_id"]], on="video_id").set_index(["video_id", "frame"])


@pytest.mark.parametrize("workers", [0, 2])
def test_a_dataloader_gives_every_labelled_crop_of_the_split(export_ws: Workspace, workers: int) -> None:
    ds = WorkspaceDataset(export_ws, split="train")
    assert ds.tasks == ("au", "expr", "va") and ds.aus == ["AU1", "AU12"]
    want = _labels(export_ws, "train")
    assert len(ds) == len(want) == 148
    seen = []
    for batch in DataLoader(ds, batch_size=32, shuffle=True, num_workers=workers):
        b = len(batch["row"])
        assert batch["image"].shape == (b, 3, 112, 112) and batch["image"].dtype == torch.float32
        assert batch["au"].shape == (b, 2) and batch["au_mask"].dtype == torch.bool
        assert batch["va"].shape == (b, 2) and batch["expr"].dtype == torch.int64
        for j, row in enumerate(batch["row"].tolist()):
            key = ds.keys.iloc[row]
            lab = want.loc[(key["video_id"], key["frame"])]
            au = lab[["AU1", "AU12"]].to_numpy(np.float64, na_value=np.nan)
            np.testing.assert_array_equal(batch["au_mask"][j].numpy(), ~np.isnan(au))
            np.testing.assert_array_equal(batch["au"][j].numpy(), np.nan_to_num(au))
            expr = lab["expr"]
            assert batch["expr"][j].item() == (-1 if pd.isna(expr) else int(expr))
            assert batch["expr_mask"][j].item() == (not pd.isna(expr))
            va = lab[["valence", "arousal"]].to_numpy(np.float64, na_value=np.nan)
            np.testing.assert_array_equal(batch["va_mask"][j].numpy(), ~np.isnan(va))
            np.testing.assert_allclose(batch["va"][j].numpy(), np.nan_to_num(va))
            seen.append(row)
    assert sorted(seen) == list(range(len(ds)))


def test_an_item_is_the_crops_pixels(export_ws: Workspace) -> None:
    ds = WorkspaceDataset(export_ws, split="test", image_dtype=torch.uint8)
    item = ds[3]
    key = ds.keys.iloc[3]
    with h5py.File(export_ws.crops_path(key["video_id"])) as h5:
        assert h5["frames"][key["crop"]] == key["frame"]
        crop = h5["crops"][key["crop"]]
    assert item["image"].dtype == torch.uint8
    np.testing.assert_array_equal(item["image"].permute(1, 2, 0).numpy(), crop)
    small = WorkspaceDataset(export_ws, split="test", size=32, window=3)
    assert small[0]["image"].shape == (3, 3, 32, 32) and float(small[0]["image"].max()) <= 1.0


def test_only_the_tasks_asked_and_their_frames(export_ws: Workspace) -> None:
    ds = WorkspaceDataset(export_ws, split=["val", "test"], tasks=("va",))
    want = pd.concat([_labels(export_ws, "val"), _labels(export_ws, "test")])
    assert len(ds) == int(want["valence"].notna().sum())  # frames without valence-arousal are left out
    assert set(ds[0]) == {"image", "row", "va", "va_mask"}
    assert set(ds.keys["split"]) == {"val", "test"}


@pytest.mark.parametrize("kwargs,message", [
    (dict(split="holdout"), "split 'holdout' is not in"),
    (dict(tasks=("va", "pose")), "task 'pose' is unknown"),
    (dict(image_dtype=torch.float16), "image_dtype torch.float16 is not supported"),
])
def test_wrong_choices_are_one_clear_error(export_ws: Workspace, kwargs: dict, message: str) -> None:
    with pytest.raises(AffcurateError, match=message):
        WorkspaceDataset(export_ws, **kwargs)


def test_a_task_the_labels_lack_is_named(export_ws: Workspace, tmp_path) -> None:  # noqa: ANN001
    import shutil

    ws = Workspace.open(shutil.copytree(export_ws.root, tmp_path / "ws"))
    labels = io.read_parquet(ws.labels_path).drop(columns=["valence", "arousal"])
    io.write_parquet(labels, ws.labels_path)
    with pytest.raises(AffcurateError, match=r"has no va labels \(it has au, expr\)"):
        WorkspaceDataset(ws, tasks=("au", "va"))


def test_the_trainer_reads_the_dataset_users_load(export_ws: Workspace) -> None:
    """The trainer's train part is the user's ``WorkspaceDataset(split="train")``: same frames, labels and pixels."""
    from affcurate.train.data import CropDataset, build_index, split_parts

    index = build_index(export_ws)
    train = index.subset(split_parts(index.table["split"].to_numpy())["train"])
    mine = CropDataset(export_ws, train, size=0)
    users = WorkspaceDataset(export_ws, split="train")
    assert isinstance(mine, WorkspaceDataset)
    # the trainer also keeps the unlabelled frames of the split (its masks say so); the user's set is the labelled
    labelled = train.au_mask.any(1) | (train.expr >= 0) | train.va_mask.any(1)
    got = mine.keys[labelled][["video_id", "frame", "crop"]].reset_index(drop=True)
    want = users.keys[["video_id", "frame", "crop"]].sort_values(["video_id", "frame"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.sort_values(["video_id", "frame"]).reset_index(drop=True), want)
    row = int(np.flatnonzero(labelled)[5])
    u = int(np.flatnonzero((users.keys["video_id"] == mine.keys["video_id"].iloc[row])
                           & (users.keys["frame"] == mine.keys["frame"].iloc[row]))[0])
    np.testing.assert_array_equal(mine[row]["x"].numpy(), users[u]["image"].numpy())
    np.testing.assert_array_equal(mine[row]["au_mask"].numpy(), users[u]["au_mask"].numpy())
    np.testing.assert_array_equal(mine[row]["va"].numpy(), users[u]["va"].numpy())
