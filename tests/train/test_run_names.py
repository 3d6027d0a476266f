"""Run names become folders under runs/: the command and the library refuse any that would leave it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from affcurate.cli import main
from affcurate.errors import AffcurateError
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace

BAD_NAMES = ["/some/dir", "../../x", "..", "a\n", "", "runs/x", ".hidden"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_the_command_refuses_a_run_name_that_is_not_one_folder(bad: str, small_ws: Workspace, tmp_path: Path,
                                                              tree: Callable, capsys: pytest.CaptureFixture
                                                              ) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    name = str(outside / "run") if bad == "/some/dir" else bad
    before = tree(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["train-baseline", str(small_ws.root), "--models", "prior", "--name", name])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--name: invalid run name" in err and "Traceback" not in err
    # nothing inside the workspace, nothing beside it (``../../x`` from runs/ is tmp_path/box/x), nothing outside
    assert tree(tmp_path) == before


@pytest.mark.parametrize("bad", ["/some/dir", "../x", "..", "a\n"])
def test_the_library_refuses_the_same_names(bad: str, small_ws: Workspace, tmp_path: Path, tree: Callable) -> None:
    before = tree(tmp_path)
    with pytest.raises(AffcurateError, match="invalid run name"):
        train_baseline(small_ws, models=["prior"], name=bad)
    assert tree(tmp_path) == before


def test_a_good_name_is_a_folder_under_runs(small_ws: Workspace) -> None:
    main(["train-baseline", str(small_ws.root), "--models", "prior", "--tasks", "au", "--name", "first.try-1"])
    assert (small_ws.runs_dir / "first.try-1" / "prior" / "metrics.json").exists()


def test_a_run_of_the_older_trainer_is_not_taken_for_one_of_this_trainer(small_ws: Workspace) -> None:
    """Same settings, older training code: another folder name, and the refusal says the trainer changed."""
    from affcurate.train import runs

    old = {"models": ["cnn"], "tasks": ["expr"], "epochs": 3, "seed": 0, "data": {"labels.parquet": "ab"}}
    new = {**old, "trainer": runs.TRAINER}
    assert runs.run_dir(small_ws, None, old, old["data"]) != runs.run_dir(small_ws, None, new, new["data"])
    assert runs.differences(old, new) == [f"trainer 1 → {runs.TRAINER}"]
