"""Merge finds each annotation table's rows from the count its writer recorded; a table rewritten since (its
rows changed, the record kept) or written before counts were recorded is read as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from grid_workspace import make_workspace

from affcurate import io
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, list_annotations, write_annotation
from affcurate.labels.scan import read_meta

AUS = ["AU4", "AU12"]


@pytest.fixture
def ws(tmp_path: Path):
    rng = np.random.default_rng(11)
    ws = make_workspace(tmp_path / "ws", {f"v{i}": {"n_src": 90 + 9 * i, "src_fps": 30.0} for i in range(3)},
                        {"labels": {"aus": AUS}})
    for i in range(3):
        n = 90 + 9 * i
        for ann in ("a", "b"):
            au = {a: (rng.random(n) < 0.4).astype(int) for a in AUS}
            va = rng.uniform(-1, 1, (n, 2))
            write_annotation(ws, Annotation(f"v{i}", "au", ann, pd.DataFrame({"frame": np.arange(n), **au})))
            write_annotation(ws, Annotation(f"v{i}", "va", ann, pd.DataFrame(
                {"frame": np.arange(n), "valence": va[:, 0], "arousal": va[:, 1]})))
    return ws


def _merged(ws) -> tuple[pd.DataFrame, pd.DataFrame]:
    merge(ws, drop_no_face=False)
    return pd.read_parquet(ws.labels_path), pd.read_parquet(ws.root / "agreement.parquet")


def _forget_counts(ws) -> None:
    """Each table as a writer that records no count leaves it."""
    for path in list_annotations(ws)["path"]:
        table = pq.read_table(path)
        kept = {k: v for k, v in table.schema.metadata.items() if k != io.ROWS_KEY.encode()}
        pq.write_table(table.replace_schema_metadata(kept), path)


def test_each_table_records_its_rows(ws) -> None:
    metas = [read_meta(p) for p in list_annotations(ws)["path"]]
    assert sorted({(m.video_id, m.rows) for m in metas}) == [("v0", 90), ("v1", 99), ("v2", 108)]


def test_tables_without_a_recorded_count_merge_the_same(ws) -> None:
    labels, agreement = _merged(ws)
    _forget_counts(ws)
    assert read_meta(list_annotations(ws)["path"][0]).rows is None
    again, agreement_again = _merged(ws)
    pd.testing.assert_frame_equal(labels, again)
    pd.testing.assert_frame_equal(agreement, agreement_again)


def test_a_table_rewritten_with_fewer_rows_under_its_old_record_is_read_as_it_is(ws) -> None:
    path = ws.annotation_path("a", "au", "v1")
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 60), path)  # the schema's metadata, and so its count of 99, kept
    assert read_meta(str(path)).rows == 99
    labels, agreement = _merged(ws)
    _forget_counts(ws)
    truth, truth_agreement = _merged(ws)
    pd.testing.assert_frame_equal(labels, truth)
    pd.testing.assert_frame_equal(agreement, truth_agreement)
    v1 = labels[labels["video_id"] == "v1"]
    assert v1["au_n"].tolist() == [2] * 60 + [1] * 39  # rater a's rows end at frame 59
