"""Each command's Python twin is a name of the package itself: ``affcurate.split(ws, ...)``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import affcurate
from affcurate import io
from affcurate.cli import main
from affcurate.synthetic import labelled_workspace


def test_the_twins_do_what_the_commands_do(tmp_path: Path) -> None:
    ws = labelled_workspace(tmp_path / "a", n_videos=12, n_subjects=6, frames=40, au_rates={"AU12": 0.3})
    labelled_workspace(tmp_path / "b", n_videos=12, n_subjects=6, frames=40, au_rates={"AU12": 0.3})
    result = affcurate.split(ws, train=0.5, test=0.5, val=0.0, seed=3)
    main(["split", str(tmp_path / "b"), "--train", "0.5", "--test", "0.5", "--val", "0", "--seed", "3"])
    twin = affcurate.Workspace.open(tmp_path / "b")
    mine, theirs = (io.read_parquet(w.splits_path).set_index("video_id")["split"] for w in (ws, twin))
    assert dict(mine) == dict(theirs) and set(result.assignment["split"]) == {"train", "test"}
    assert affcurate.check_split(ws) == []
    table = affcurate.LabelTable.read(ws)
    assert set(table.video_ids) == set(ws.video_ids()) and table.has_task("au")


def test_every_command_has_its_twin() -> None:
    for name in ("ingest", "find_faces", "pick_subject", "import_files", "export", "merge", "split",
                 "check_split", "adopt_split", "report", "train_baseline", "run", "status", "subjects", "predict"):
        fn = getattr(affcurate, name)
        assert callable(fn) and fn.__module__.startswith("affcurate.")
    assert set(dir(affcurate)) >= {"split", "merge", "FaceTracks", "LabelTable", "Workspace"}


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = ("import sys, affcurate; affcurate.Workspace; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'rich', 'av', 'cv2', 'h5py') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
