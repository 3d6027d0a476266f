"""Merge holds the workspace's writer lock at the library level: the Python twin is protected too."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.lock import WorkspaceBusyError
from affcurate.workspace import Workspace


@pytest.fixture
def held(small_ws: Workspace, hold_lock) -> Iterator[Workspace]:
    """The small workspace with labels, its writer lock held by another process as `affcurate split`."""
    write_annotation(small_ws, Annotation("clip_a", "au", "ann", pd.DataFrame(
        {"frame": np.arange(60), "AU12": np.ones(60, int)})))
    with hold_lock(small_ws.root, "affcurate split"):
        yield small_ws


def test_merge_refuses_while_another_command_writes(held: Workspace, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(WorkspaceBusyError, match=r"being written by `affcurate split` \(pid \d+"):
        merge(held)
    assert not held.labels_path.exists()
    with pytest.raises(SystemExit) as e:
        main(["merge", str(held.root)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "affcurate split" in err and "Traceback" not in err
    assert not held.labels_path.exists()


def test_merge_inside_a_held_lock_of_this_process_runs(small_ws: Workspace) -> None:
    """A recipe holds the lock once for all stages; merge inside it does not wait for itself."""
    write_annotation(small_ws, Annotation("clip_a", "au", "ann", pd.DataFrame(
        {"frame": np.arange(60), "AU12": np.ones(60, int)})))
    with small_ws.writing("affcurate run"):
        assert len(merge(small_ws, drop_no_face=False).labels) == 60
