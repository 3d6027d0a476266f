"""`affcurate status WS`, `--version`, shell completion and the packaged recipes (`run --list`, `run NAME`):
what a user asks of the tool and of a workspace before running anything."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import affcurate
from affcurate import io
from affcurate.cli import main
from affcurate.flow import ingest
from affcurate.recipe import bundled_recipes, load_recipe
from affcurate.state import status
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace

SCRIPT = Path(sys.executable).parent / "affcurate"


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich draws tables as wide as this, so that a whole title or command stays on one line."""
    monkeypatch.setenv("COLUMNS", "220")


@pytest.fixture(scope="module")
def ingested(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two sample clips and a broken file, ingested with their faces (default settings)."""
    src = tmp_path_factory.mktemp("status-src")
    for name in ("single_face.mp4", "no_face.mp4"):
        shutil.copy(samples / name, src / name)
    (src / "broken.mp4").write_bytes(b"\x00\x01not a video at all" * 200)
    ws = Workspace.init(tmp_path_factory.mktemp("status") / "ws")
    result = ingest(ws, src)
    assert result.n_failed == 1
    return ws


def _copy(ws: Workspace, to: Path) -> Workspace:
    shutil.copytree(ws.root, to)  # times are kept, so what was done stays done
    return Workspace.open(to)


def _counts(result: dict, stage: str) -> tuple[str, int, int, int, int]:
    s = result["stages"][stage]
    return s["state"], s["done"], s["stale"], s["failed"], s["missing"]


def _digest(root: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.stat()
        content = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(root))] = (content, st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out


def _screen(capsys: pytest.CaptureFixture, ws: Workspace | Path) -> str:
    main(["status", str(ws.root if isinstance(ws, Workspace) else ws)])
    return capsys.readouterr().out


# ---- versions, completion and recipes -----------------------------------------------------------------------

def test_version_is_printed_and_exits_0(capsys: pytest.CaptureFixture) -> None:
    main(["--version"])  # returns: exit code 0
    assert capsys.readouterr().out == f"affcurate {affcurate.__version__}\n"
    proc = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, f"affcurate {affcurate.__version__}\n")


def test_shell_completion_installs_and_completes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main(["--help"])
    shown = capsys.readouterr().out
    assert "--install-completion" in shown and "--show-completion" in shown
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    # typer finds the shell among the command's parents, as when a user types it: so bash starts it here
    proc = subprocess.run(["/bin/bash", "-c", '"$0" --install-completion; exit $?', str(SCRIPT)], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "_AFFCURATE_COMPLETE" in (tmp_path / ".bash_completions" / "affcurate.sh").read_text()
    assert "affcurate.sh" in (tmp_path / ".bashrc").read_text()
    # what bash asks when the user presses tab after `affcurate sta`
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True,
                          env={**env, "_AFFCURATE_COMPLETE": "complete_bash", "COMP_WORDS": "affcurate sta",
                               "COMP_CWORD": "1"})
    assert proc.stdout.split() == ["status"]


def test_run_list_shows_every_packaged_recipe(capsys: pytest.CaptureFixture) -> None:
    main(["run", "--list"])
    out = capsys.readouterr().out
    recipes = bundled_recipes()
    assert {"demo", "affwild-au-va"} <= set(recipes)
    for name, path in recipes.items():
        r = load_recipe(path)
        line = next(ln for ln in out.splitlines() if re.search(rf"│ {re.escape(name)} +│", ln))
        assert r.title in line, line
        reproduces = tomllib.loads(r.text)["recipe"].get("reproduces")
        if reproduces:
            assert reproduces in line
    assert "affcurate run NAME WORKSPACE" in out


def test_a_packaged_recipe_runs_by_name(samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)  # no pipelines/ here: the name is found among the packaged recipes
    main(["run", "demo", "ws", "--dry-run"])
    out = capsys.readouterr().out
    assert "demo: The sample media, end to end" in out
    for stage in ("ingest", "faces", "subjects", "import", "merge", "split", "report", "train"):
        assert re.search(rf"│ {stage} +│ will run", out), stage
    assert not (tmp_path / "ws").exists()  # a dry run writes nothing


# ---- affcurate status ----------------------------------------------------------------------------------------

def test_a_fresh_workspace_says_what_to_run_first(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ws = Workspace.init(tmp_path / "ws")
    result = status(ws)
    assert all(s["state"] == "missing" for s in result["stages"].values())
    assert result["next"]["command"] == f"affcurate ingest {ws.root} --videos DIR"
    out = _screen(capsys, ws)
    assert f"next: affcurate ingest {ws.root} --videos DIR" in out and "no videos yet" in out


def test_after_ingest_media_and_faces_are_done_and_the_broken_file_failed(ingested: Workspace,
                                                                          capsys: pytest.CaptureFixture) -> None:
    result = status(ingested)
    assert _counts(result, "ingest") == ("failed", 2, 0, 1, 0)
    assert _counts(result, "faces") == ("done", 2, 0, 0, 0)
    error = ingested.manifest().set_index("video_id").loc["broken", "error"]
    assert result["failed"] == [{"stage": "ingest", "id": "broken", "error": error}]
    assert result["videos"] == {"total": 3, "ok": 2, "error": 1, "duplicate": 0, "pending": 0}
    # the broken video does not hold the others back: the next stage of the flow is next
    assert result["next"]["command"] == f"affcurate subjects {ingested.root}"
    out = _screen(capsys, ingested)
    assert re.search(r"ingest \(media\) +│ failed +│ +2 │ +0 │ +1 │ +0 │ videos", out)
    assert re.search(rf"│ ingest +│ broken +│ {re.escape(error)}", out)


def test_a_transcode_setting_makes_media_stale_for_every_video(ingested: Workspace, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    ws.save_settings(ws.settings.replace("ingest", max_height=240))
    result = status(ws.root)
    assert _counts(result, "ingest") == ("stale", 0, 2, 1, 0)
    assert result["stages"]["ingest"]["why"] == ["2 videos stale: the [ingest] settings changed since the transcode"]
    # the faces stage keys on the transcode: rerunning ingest redoes them too
    assert _counts(result, "faces") == ("stale", 0, 2, 0, 0)
    assert result["next"] == {"stage": "ingest", "command": f"affcurate ingest {ws.root}",
                              "why": "2 videos stale: the [ingest] settings changed since the transcode"}
    out = _screen(capsys, ws)  # the brackets of [ingest] are text, not markup
    assert "ingest: 2 videos stale: the [ingest] settings changed since the transcode" in out
    assert f"next: affcurate ingest {ws.root}\n" in out
    # what status says is what the stages' resume logic does: after the command it names, all is done again
    ingest(Workspace.open(ws.root))
    again = status(ws.root)
    assert _counts(again, "ingest") == ("failed", 2, 0, 1, 0) and _counts(again, "faces") == ("done", 2, 0, 0, 0)


def test_a_faces_setting_makes_only_faces_stale(ingested: Workspace, tmp_path: Path) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    ws.save_settings(ws.settings.replace("faces", crop_size=96))
    result = status(ws.root)
    assert _counts(result, "ingest") == ("failed", 2, 0, 1, 0)
    assert _counts(result, "faces") == ("stale", 0, 2, 0, 0)
    assert result["stages"]["faces"]["why"] == ["2 videos stale: the [faces] settings changed (faces.crop_size 112 → 96)"]
    assert result["next"]["command"] == f"affcurate faces run {ws.root}"


def test_a_video_whose_faces_failed_shows_the_faces_error(ingested: Workspace, tmp_path: Path) -> None:
    from affcurate.faces.stage import find_faces

    ws = _copy(ingested, tmp_path / "ws")
    ws.video_path("single_face").unlink()  # its 30 fps video is gone: the faces stage cannot read it
    ws.clear_done("faces", "single_face")
    summary = find_faces(ws).set_index("video_id")
    error = summary.loc["single_face", "error"]
    assert summary.loc["single_face", "status"] == "error" and error
    result = status(ws)
    assert _counts(result, "faces") == ("failed", 1, 0, 1, 0)
    assert {"stage": "faces", "id": "single_face", "error": error} in result["failed"]
    # the media stage makes the video again: ingest is what to run
    assert _counts(result, "ingest") == ("missing", 1, 0, 1, 1)
    assert result["next"]["command"] == f"affcurate ingest {ws.root}"


def test_identities_turn_stale_with_the_subjects_settings(ingested: Workspace, tmp_path: Path) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    assert _counts(status(ws), "subjects") == ("missing", 0, 0, 0, 1)
    main(["subjects", str(ws.root)])
    assert _counts(status(ws), "subjects") == ("done", 1, 0, 0, 0)
    ws.save_settings(ws.settings.replace("subjects", threshold=0.6))
    result = status(ws.root)
    assert _counts(result, "subjects") == ("stale", 0, 1, 0, 0)
    assert result["next"] == {"stage": "subjects", "command": f"affcurate subjects {ws.root}",
                              "why": "the [subjects] settings changed (subjects.threshold 0.5 → 0.6)"}


def _labels(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_labelled_frames_per_annotator_and_a_stale_merge(ingested: Workspace, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    src = tmp_path / "labels"
    # ann1: expressions on frames 0-39 of 72; AU1 on 0-29 and AU12 on 20-49, so 50 frames carry an AU value
    _labels(src / "ann1" / "expr", "single_face.csv", "frame,expr", [f"{f},{1 if f < 40 else ''}" for f in range(72)])
    _labels(src / "ann1" / "au", "single_face.csv", "frame,AU1,AU12",
            [f"{f},{1 if f < 30 else ''},{0 if 20 <= f < 50 else ''}" for f in range(72)])
    main(["import", str(ws.root), "--format", "affcurate", "--annotator", "ann1", str(src / "ann1")])
    _labels(src / "ann2", "single_face.csv", "frame,expr", [f"{f},2" for f in range(72)])
    main(["import", str(ws.root), "--format", "affcurate", "--annotator", "ann2", str(src / "ann2")])
    capsys.readouterr()
    result = status(ws)
    assert result["labelled"] == [
        {"annotator": "ann1", "task": "au", "unit": "frames", "videos": 1, "rows": 72, "labelled": 50},
        {"annotator": "ann1", "task": "expr", "unit": "frames", "videos": 1, "rows": 72, "labelled": 40},
        {"annotator": "ann2", "task": "expr", "unit": "frames", "videos": 1, "rows": 72, "labelled": 72},
    ]
    assert _counts(result, "import") == ("done", 1, 0, 0, 1)  # no_face has no labels, and needs none
    assert _counts(result, "merge") == ("missing", 0, 0, 0, 1)
    out = _screen(capsys, ws)
    assert re.search(r"│ ann1 +│ au +│ +1 │ +50 │ +72 │ frames", out)

    main(["merge", str(ws.root)])
    assert _counts(status(ws), "merge") == ("done", 1, 0, 0, 0)
    _labels(src / "ann3", "single_face.csv", "frame,expr", [f"{f},3" for f in range(72)])
    main(["import", str(ws.root), "--format", "affcurate", "--annotator", "ann3", str(src / "ann3")])
    result = status(ws)
    assert _counts(result, "merge") == ("stale", 0, 1, 0, 0)
    assert result["stages"]["merge"]["why"] == [
        "annotations/ann3/expr/single_face.parquet changed since labels.parquet was written"]

    # --json: the same as the library says, keys and counts
    capsys.readouterr()
    main(["status", str(ws.root), "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(status(ws, shown_as=str(ws.root))))
    assert set(printed) == {"workspace", "version", "videos", "images", "stages", "failed", "labelled", "next"}
    assert list(printed["stages"]) == ["ingest", "faces", "subjects", "import", "merge", "split", "report", "train"]
    assert _counts(printed, "merge") == ("stale", 0, 1, 0, 0)


def test_a_labels_setting_makes_merge_stale(ingested: Workspace, tmp_path: Path) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    src = _labels(tmp_path / "labels", "single_face.csv", "frame,expr", [f"{f},1" for f in range(72)])
    main(["import", str(ws.root), "--format", "affcurate", "--annotator", "ann1", str(src)])
    main(["merge", str(ws.root)])
    assert _counts(status(ws), "merge") == ("done", 1, 0, 0, 0)
    ws.save_settings(ws.settings.replace("labels", expr_fusion="unanimous"))
    result = status(ws.root)
    assert _counts(result, "merge") == ("stale", 0, 1, 0, 0)
    assert result["stages"]["merge"]["why"] == ['the [labels] settings changed (labels.expr_fusion "majority" → '
                                                '"unanimous")']


def test_splits_and_report_turn_stale_when_the_labels_change(tmp_path: Path) -> None:
    ws = labelled_workspace(tmp_path / "ws", n_videos=10, n_subjects=5, frames=300, au_rates={"AU12": 0.3})
    assert _counts(status(ws), "split") == ("missing", 0, 0, 0, 1)
    affcurate.split(ws, train=0.6, test=0.4, val=0.0)
    affcurate.report(ws)
    result = status(ws)
    assert _counts(result, "split") == ("done", 1, 0, 0, 0) and _counts(result, "report") == ("done", 1, 0, 0, 0)
    labels, meta = io.read_parquet_with_metadata(ws.labels_path)
    io.write_parquet(labels, ws.labels_path, metadata=meta or None)  # as a new merge does
    result = status(ws)
    assert _counts(result, "split") == ("stale", 0, 1, 0, 0)
    assert result["stages"]["split"]["why"] == ["labels.parquet changed since splits.parquet was written"]
    assert _counts(result, "report") == ("stale", 0, 1, 0, 0)
    assert result["stages"]["report"]["why"] == ["labels.parquet changed since reports/report.html was written"]


def test_status_writes_nothing_even_while_another_command_writes(ingested: Workspace, tmp_path: Path, hold_lock,
                                                                 capsys: pytest.CaptureFixture) -> None:
    ws = _copy(ingested, tmp_path / "ws")
    ws.save_settings(ws.settings.replace("faces", crop_size=96))  # something stale, something failed
    before = _digest(ws.root)
    main(["status", str(ws.root)])
    main(["status", str(ws.root), "--json"])
    assert _digest(ws.root) == before
    with hold_lock(ws.root, "affcurate merge"):
        during = _digest(ws.root)  # with the other command's lock file
        main(["status", str(ws.root)])
        main(["status", str(ws.root), "--json"])
        status(ws.root)
        assert _digest(ws.root) == during
    assert capsys.readouterr().out.count("next: affcurate faces run") == 2


def test_status_of_a_folder_that_is_no_workspace_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["status", str(tmp_path / "nothing")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "not an affcurate workspace" in err and "Traceback" not in err
