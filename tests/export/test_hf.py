"""`affcurate export WS OUT --format hf`: a folder that `datasets.load_dataset` opens, with the crops' pixels, the
labels of labels.parquet, the splits of splits.parquet, and a dataset card whose YAML header the Hub reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from affcurate import io
from affcurate.cli import main
from affcurate.exports import export_hf
from affcurate.workspace import Workspace

LABELS = ["AU1", "AU12", "AU1_intensity", "expr", "valence", "arousal"]


@pytest.fixture(scope="module")
def hf_dir(export_ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hf") / "ds"
    main(["export", str(export_ws.root), str(out), "--format", "hf"])
    return out


@pytest.fixture(scope="module")
def loaded(hf_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module):  # noqa: ANN001, ANN201
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")  # a local folder: nothing is asked of the Hub
    monkeypatch_module.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset(str(hf_dir), cache_dir=str(tmp_path_factory.mktemp("hf-cache")))


@pytest.fixture(scope="module")
def monkeypatch_module():  # noqa: ANN201
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _expected(ws: Workspace) -> pd.DataFrame:
    """Labelled frames with a crop and a split, read straight from the workspace's files."""
    labels = io.read_parquet(ws.labels_path)
    splits = io.read_parquet(ws.splits_path)[["video_id", "subject", "split"]]
    crops = []
    for vid in splits["video_id"]:
        with h5py.File(ws.crops_path(vid)) as h5:
            frames = h5["frames"][:]
        crops.append(pd.DataFrame({"video_id": vid, "frame": frames, "crop": np.arange(len(frames))}))
    return labels.merge(splits, on="video_id").merge(pd.concat(crops), on=["video_id", "frame"])


def test_load_dataset_gives_every_labelled_crop_in_its_split(export_ws: Workspace, loaded) -> None:  # noqa: ANN001
    want = _expected(export_ws)
    assert set(loaded) == {"train", "val", "test"}
    for split, ds in loaded.items():
        rows = ds.remove_columns("image").to_pandas()
        mine = want[want["split"] == split]
        assert len(rows) == len(mine) > 0, split
        assert (rows["split"] == split).all() and set(rows["subject"]) == set(mine["subject"])
        both = rows.merge(mine, on=["video_id", "frame"], suffixes=("", "_ws"), validate="one_to_one")
        assert len(both) == len(mine)
        for c in LABELS:  # the same values and the same holes as labels.parquet
            have = both[c].to_numpy(np.float64, na_value=np.nan)
            ws_values = both[f"{c}_ws"].to_numpy(np.float64, na_value=np.nan)
            np.testing.assert_array_equal(have, ws_values, err_msg=f"{split} {c}")
        mask = np.stack(both["au_mask"].to_numpy())
        np.testing.assert_array_equal(mask, both[["AU1_ws", "AU12_ws"]].notna().to_numpy())
        np.testing.assert_array_equal(both["expr_mask"], both["expr_ws"].notna())
        np.testing.assert_array_equal(np.stack(both["va_mask"].to_numpy()),
                                      both[["valence_ws", "arousal_ws"]].notna().to_numpy())
    assert 10_000 not in set(loaded["val"]["frame"])  # labelled, but no crop


def test_an_image_decodes_to_the_crops_pixels(export_ws: Workspace, loaded) -> None:  # noqa: ANN001
    import datasets

    ds = loaded["test"]
    assert isinstance(ds.features["image"], datasets.Image)
    assert ds.features["expr"].names == list(export_ws.settings.labels.expressions)
    for i in (0, len(ds) - 1):
        row = ds[i]
        with h5py.File(export_ws.crops_path(row["video_id"])) as h5:
            k = int(np.flatnonzero(h5["frames"][:] == row["frame"])[0])
            crop = h5["crops"][k]
        np.testing.assert_array_equal(np.asarray(row["image"].convert("RGB")), crop)


def test_the_card_has_the_header_the_hub_reads(export_ws: Workspace, hf_dir: Path, loaded) -> None:  # noqa: ANN001
    text = (hf_dir / "README.md").read_text()
    assert text.startswith("---\n")
    head = yaml.safe_load(text.split("---\n")[1])
    assert head["license"] == "mit"  # the manifest's licence column
    assert "image-classification" in head["task_categories"]
    files = {d["split"]: d["path"] for d in head["configs"][0]["data_files"]}
    assert files == {s: f"data/{s}-*" for s in ("train", "val", "test")}
    features = {f["name"]: f for f in head["dataset_info"]["features"]}
    assert features["image"]["dtype"] == "image" and features["au_mask"] == {"name": "au_mask", "sequence": "bool",
                                                                             "length": 2}
    assert features["expr"]["dtype"]["class_label"]["names"]["5"] == "Sadness"
    examples = {s["name"]: s["num_examples"] for s in head["dataset_info"]["splits"]}
    assert examples == {s: len(d) for s, d in loaded.items()}
    assert "## Columns" in text and "Licences: MIT" in text  # no datacard yet: the short text
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(hf_dir / "README.md").data  # the Hub's own reading of the header
    assert data.license == "mit" and data.pretty_name == "ws" and data.size_categories == ["n<1K"]
    shard = pq.ParquetFile(next((hf_dir / "data").glob("train-*.parquet")))
    assert shard.schema_arrow.field("image").type.names == ["bytes", "path"]
    assert b"huggingface" in shard.schema_arrow.metadata


def test_the_datacard_is_the_cards_text_and_old_shards_go(export_ws: Workspace, tmp_path: Path) -> None:
    ws = Workspace.open(shutil.copytree(export_ws.root, tmp_path / "ws"))
    io.write_text(ws.reports_dir / "datacard.md", "# Datacard: ws\n\n## Annotation protocol\nTwo coders, FACS.\n")
    splits = io.read_parquet(ws.splits_path)
    splits.loc[splits["split"] == "val", "subject"] = None  # and the manifest does not name them either
    io.write_parquet(splits, ws.splits_path)
    out = tmp_path / "ds"
    first = export_hf(ws, out, max_shard_bytes=112 * 112 * 3 * 40)  # 40 crops a shard
    train = sorted(p.name for p in (out / "data").glob("train-*"))
    assert train == [f"train-{k:05d}-of-00004.parquet" for k in range(4)] and first.rows["train"] == 148
    assert sum(pq.ParquetFile(out / "data" / n).metadata.num_rows for n in train) == 148
    export_hf(ws, out)
    assert sorted(p.name for p in (out / "data").glob("*.parquet")) == [
        "test-00000-of-00001.parquet", "train-00000-of-00001.parquet", "val-00000-of-00001.parquet"]
    val = pq.read_table(out / "data" / "val-00000-of-00001.parquet", columns=["subject"]).column(0)
    assert val.null_count == len(val) == 18
    text = (out / "README.md").read_text()
    assert "## Datacard: ws\n\n### Annotation protocol\nTwo coders, FACS." in text
    assert not [p for p in out.rglob(".*")], "a temporary file was left behind"


def _refused(capsys, *args: object) -> str:  # noqa: ANN001
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_what_is_missing_is_one_line_and_nothing_is_written(export_ws: Workspace, tmp_path: Path, capsys) -> None:
    ws = Workspace.open(shutil.copytree(export_ws.root, tmp_path / "ws"))
    out = tmp_path / "ds"
    ws.crops_path("single_face").unlink()
    err = _refused(capsys, "export", ws.root, out, "--format", "hf")
    assert "crops of single_face" in err and f"run `affcurate faces run {ws.root}` first" in err
    ws.splits_path.unlink()
    assert f"{ws.splits_path} is missing: run `affcurate split {ws.root}` first" in _refused(
        capsys, "export", ws.root, out, "--format", "hf")
    assert not out.exists()
    (tmp_path / "a-file").write_text("x")
    assert "is a file, expected a folder" in _refused(capsys, "export", export_ws.root, tmp_path / "a-file", "-f", "hf")
