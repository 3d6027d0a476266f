"""LabelTable: one encoding of "not labelled", the task columns once, the one "run merge first" message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate.errors import StageMissingError
from affcurate.labels.table import LabelTable
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return labelled_workspace(tmp_path / "ws", n_videos=4, n_subjects=3, frames=400,
                              au_rates={"AU4": 0.2, "AU12": 0.4})


def test_reads_what_merge_wrote_with_one_missing_encoding(ws: Workspace) -> None:
    raw = pd.read_parquet(ws.labels_path)
    table = LabelTable.read(ws)
    assert len(table) == len(raw) and table.aus == ("AU4", "AU12")
    assert table.tasks == ["au", "expr", "va"]
    presence = table.au_presence()
    assert presence.shape == (len(raw), 2) and presence.dtype == np.float32
    np.testing.assert_array_equal(presence[:, 1], raw["AU12"].to_numpy(np.float32))
    assert table.labelled("va").all() and table.labelled("au").shape == (len(raw), 2)


def test_not_labelled_is_nan_whatever_the_column_type(ws: Workspace) -> None:
    raw = pd.read_parquet(ws.labels_path)
    raw.loc[3, "AU4"] = pd.NA
    raw.loc[5, "expr"] = pd.NA
    raw.loc[7, "valence"] = np.nan
    table = LabelTable.from_frame(raw, ["AU4", "AU12"], 8)
    assert np.isnan(table.au_presence()[3, 0]) and not table.labelled("au")[3, 0]
    assert np.isnan(table.expr()[5]) and table.labelled("expr")[:, 0].sum() == len(raw) - 1
    assert np.isnan(table.va()[7, 0]) and not np.isnan(table.va()[7, 1])
    assert isinstance(table.frame["AU4"].dtype, pd.Int8Dtype)


def test_for_video_and_round_trip(ws: Workspace, tmp_path: Path) -> None:
    table = LabelTable.read(ws)
    vid = table.video_ids[1]
    one = table.for_video(vid)
    assert set(one.frame["video_id"]) == {vid} and one.frame["frame"].is_monotonic_increasing
    assert len(table.for_video("nowhere")) == 0
    other = Workspace.init(tmp_path / "other")
    table.write(other)
    pd.testing.assert_frame_equal(pd.read_parquet(other.labels_path), pd.read_parquet(ws.labels_path))


def test_missing_labels_name_the_command(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "empty")
    with pytest.raises(StageMissingError, match=r"labels.parquet is missing: run `affcurate merge"):
        LabelTable.read(ws)
