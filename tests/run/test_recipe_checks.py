"""A recipe is checked whole before anything is written; every refusal is one line naming the file and line;
`affcurate run` holds the workspace's writer lock for its whole run."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.errors import AffcurateError, InputError
from affcurate.recipe import StagePlan, load_recipe, run
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace

PIPELINES = Path(__file__).parents[2] / "pipelines"


def tree(root: Path) -> dict[str, str]:
    """Every file under root with the hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the real command line; (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace with a manifest of four videos (v00000…v00003) and merged labels."""
    return labelled_workspace(tmp_path / "ws", 4, 3, 400, {"AU1": 0.2, "AU2": 0.1})


@pytest.fixture
def va_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders of affcurate-format VA files, one per annotator."""
    out = []
    for who in ("alice", "bob"):
        d = tmp_path / who
        d.mkdir()
        (d / "v00000.csv").write_text("frame,valence,arousal\n0,0.1,0.2\n1,0.2,0.3\n")
        out.append(d)
    return out[0], out[1]


def write_recipe(tmp_path: Path, body: str, name: str = "r.toml") -> Path:
    path = tmp_path / name
    path.write_text("[recipe]\nname = \"checks\"\n\n" + textwrap.dedent(body))
    return path


def two_sources(a: Path, b: Path, second_annotator: str, second_format: str = "affcurate") -> str:
    return f"""\
        [import]
        sources = [
          {{ format = "affcurate", paths = ["{a}"], annotator = "alice" }},
          {{ format = "{second_format}", paths = ["{b}"], annotator = "{second_annotator}" }},
        ]
        """


def test_a_bad_second_import_source_writes_nothing(tmp_path: Path, ws: Workspace, va_files, capsys) -> None:
    recipe = write_recipe(tmp_path, two_sources(*va_files, "bad name"))
    before = tree(ws.root)
    code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{recipe}:7 [import] sources.1.annotator: invalid annotator 'bad name'" in err
    assert tree(ws.root) == before and not ws.annotations_dir.exists()
    # the same recipe with a good name imports both sources
    good = write_recipe(tmp_path, two_sources(*va_files, "bob"), "good.toml")
    assert cli(["run", str(good), str(ws.root)], capsys)[0] == 0
    assert sorted(p.parent.parent.name for p in ws.annotations_dir.rglob("*.parquet")) == ["alice", "bob"]


def test_a_second_source_with_a_bad_value_writes_nothing(tmp_path: Path, ws: Workspace, va_files,
                                                         capsys) -> None:
    a, b = va_files
    (b / "v00000.csv").write_text("frame,valence,arousal\n0,0.1,0.2\n1,7,0.3\n")  # valence out of range
    recipe = write_recipe(tmp_path, two_sources(a, b, "bob"))
    before = tree(ws.root)
    code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    assert code == 2 and err.count("\n") == 1 and "v00000.csv:3" in err
    assert tree(ws.root) == before and not ws.annotations_dir.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("@TWO_SOURCES_BAD_FORMAT@", "@RECIPE@:8 [import] sources.1.format: unknown format 'nope': expected one of"),
        ("[import]\nsources = [{ format = 'affcurate', paths = ['@A@', 'missing'] }]\n",
         "@RECIPE@:6 [import] sources.0.paths: @TMP@/missing not found"),
        ("[import]\nsources = [{ format = 'cvat', paths = ['@A@'] }]\n",
         "@RECIPE@:6 [import] sources.0.paths: no cvat files found in @A@"),
        ("[import]\nsources = [{ format = 'affcurate', paths = ['${NOPE}'] }]\n",
         "@RECIPE@:6 [import] sources.0.paths: ${NOPE} is not set; pass --var NOPE=PATH"),
        ("[import]\nsources = [{ format = 'affcurate', paths = [\"a\\u0000b\"] }]\n",
         "@RECIPE@:6 [import] sources.0.paths: 'a\\x00b' contains a NUL character"),
        ("[import]\nsources = [{ format = 'affcurate', paths = ['@LONG@'] }]\n", "cannot be read (File name too long)"),
        ("[ingest]\nvideos = 'nowhere'\n", "@RECIPE@:6 [ingest] videos: @TMP@/nowhere not found"),
        ("[split]\ntrain = 0.7\ntest = 0.2\n", "@RECIPE@:5 [split]: train + val + test = 0.9; expected fractions that "
                                              "sum to 1"),
        ("[split]\nfolds = 1\n", "expected fractions that sum to 1, or folds of at least 2"),
        ("[train]\nname = '../elsewhere'\n", "@RECIPE@:6 [train] name: invalid run name '../elsewhere'"),
    ],
)
def test_inputs_of_later_stages_are_checked_before_any_stage(tmp_path: Path, ws: Workspace, va_files, capsys,
                                                             body: str, message: str) -> None:
    a, b = va_files
    recipe = tmp_path / "r.toml"
    fill = {"@TWO_SOURCES_BAD_FORMAT@": textwrap.dedent(two_sources(a, b, "bob", "nope")), "@RECIPE@": str(recipe),
            "@TMP@": str(tmp_path), "@LONG@": "x" * 5000, "@A@": str(a)}
    for key, value in fill.items():
        body, message = body.replace(key, value), message.replace(key, value)
    write_recipe(tmp_path, "[merge]\n" + body)  # the merge stage first: the checks look past it
    before = tree(ws.root)
    code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err
    assert tree(ws.root) == before


def test_a_video_list_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "videos.csv").write_bytes(b"path,subject\nclip.mp4,ren\xe9\n")
    recipe = write_recipe(tmp_path, "[ingest]\nlist = 'videos.csv'\n")
    code, _, err = cli(["run", str(recipe), str(tmp_path / "ws")], capsys)
    assert code == 2 and f"{tmp_path / 'videos.csv'}:2: byte 0xe9 is not UTF-8" in err
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[merge]\nkeep = 'all'\nwindow = 3\n",
         ":6: invalid recipe at merge: Additional properties are not allowed ('window' was unexpected); "
         "allowed keys: disagreements, drop_no_face, keep"),
        ("[report]\nformat = 'pdf'\n", ":5: invalid recipe at report: Additional properties are not allowed "
                                      "('format' was unexpected); allowed keys: none"),
        ("[train]\nmodels = ['prior']\nlearning_rate = 1\n", "('learning_rate' was unexpected); allowed keys: "
                                                            "batch_size, epochs, folds, lr, models, name, seed, tasks, validation"),
        ("[ingest]\nvideos = 'v'\nimage_fps = nan\n", ":6: invalid recipe at ingest.image_fps: nan is not a finite"),
        ("[settings.ingest]\nfps = inf\n", ":5: invalid recipe at settings.ingest.fps: inf is not a finite number"),
        ("[settings.labels]\naus = []\n", ":5: invalid setting settings.labels.aus: the list is empty"),
        ("[split]\ntrain = nan\n", ":5: invalid recipe at split.train: nan is not a finite number"),
    ],
)
def test_unknown_stage_keys_and_non_finite_numbers(tmp_path: Path, body: str, message: str, capsys) -> None:
    recipe = write_recipe(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_recipe(recipe)
    assert str(err.value).startswith(str(recipe)) and message in str(err.value)
    code, _, stderr = cli(["run", str(recipe), str(tmp_path / "ws"), "--dry-run"], capsys)
    assert code == 2 and stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr


def test_a_recipe_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path, capsys) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_bytes(b"[recipe]\nname = 'x'\ntitle = 'caf\xe9'\n")
    code, _, err = cli(["run", str(recipe), str(tmp_path / "ws"), "--dry-run"], capsys)
    assert code == 2 and f"{recipe}:3: byte 0xe9 is not UTF-8; expected a UTF-8 text file" in err


def test_a_recipe_name_is_a_name(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('[recipe]\nname = "demo\\n"\n')  # `^…$` in the schema lets a trailing newline through
    with pytest.raises(AffcurateError, match=r"r.toml:2: invalid recipe name 'demo\\n'"):
        load_recipe(recipe)


def test_rich_markup_in_an_error_is_printed_as_it_is(tmp_path: Path, capsys) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('[recipe]\nname = "Bad Name"\n')
    code, _, err = cli(["run", str(recipe), str(tmp_path / "ws"), "--dry-run"], capsys)
    assert code == 2 and "'Bad Name' does not match '^[a-z0-9][a-z0-9-]*$'" in err
    recipe.write_text('[recipe]\nname = "x"\n[split]\nfolds = 1\n')
    code, _, err = cli(["run", str(recipe), str(tmp_path / "ws"), "--dry-run"], capsys)
    assert code == 2 and f"{recipe}:3 [split]: train + val + test" in err


def test_dry_run_writes_nothing_into_an_existing_workspace(tmp_path: Path, ws: Workspace, capsys) -> None:
    recipe = write_recipe(tmp_path, "[settings.faces]\ncrop_size = 64\n[split]\ntrain = 0.5\ntest = 0.5\n")
    before = tree(ws.root)
    code, out, _ = cli(["run", str(recipe), str(ws.root), "--dry-run"], capsys)
    assert code == 0 and "will run" in out and tree(ws.root) == before


def test_a_bundled_recipe_is_found_by_name(tmp_path: Path) -> None:
    assert load_recipe("demo").path == (PIPELINES / "demo.toml").resolve()
    with pytest.raises(AffcurateError, match="bundled recipes: afewva-5fold, affectnet-mt, affwild-au-expr"):
        run("no-such-recipe", tmp_path / "ws")


HOLD = """
import sys, time
from affcurate.lock import writer_lock
with writer_lock(sys.argv[1], "affcurate split"):
    print("held", flush=True)
    time.sleep(120)
"""

TRY = """
import sys
from affcurate.errors import AffcurateError
from affcurate.lock import writer_lock
try:
    with writer_lock(sys.argv[1], "affcurate merge"):
        print("taken")
except AffcurateError as exc:
    print(exc)
"""


def test_run_is_refused_while_another_process_writes(tmp_path: Path, ws: Workspace, capsys) -> None:
    recipe = write_recipe(tmp_path, "[split]\ntrain = 0.5\ntest = 0.5\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ws.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = tree(ws.root)
        code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and err.count("\n") == 1
    assert "is being written by `affcurate split`" in err and f"pid {holder.pid}" in err
    assert tree(ws.root) == before


def test_run_holds_the_writer_lock_through_every_stage(tmp_path: Path, ws: Workspace) -> None:
    recipe = write_recipe(tmp_path, "[split]\ntrain = 0.5\ntest = 0.5\n")
    seen: list[tuple[str, str, str]] = []

    def on_stage(stage: StagePlan, event: str) -> None:
        other = subprocess.run([sys.executable, "-c", TRY, str(ws.root)], capture_output=True, text=True)
        seen.append((stage.name, event, other.stdout.strip()))

    run(recipe, ws.root, on_stage=on_stage)
    assert [(n, e) for n, e, _ in seen] == [("split", "started"), ("split", "finished")]
    for _, _, answer in seen:
        assert "is being written by `affcurate run`" in answer
    assert ws.splits_path.exists()


def test_the_runner_prints_nothing_and_reports_through_its_callbacks(tmp_path: Path, ws: Workspace, va_files,
                                                                     capsys) -> None:
    import numpy as np
    import pandas as pd

    from affcurate import io

    for vid, n in ws.manifest()[["video_id", "out_frames"]].itertuples(index=False):  # 30 fps sources
        t = np.arange(n) / 30.0
        io.write_parquet(pd.DataFrame({"frame": np.arange(n), "time": t, "src_frame": np.arange(n), "src_time": t,
                                       "repeated": False}), ws.frames_path(vid))
    recipe = write_recipe(tmp_path, two_sources(*va_files, "bob") + "[merge]\n")
    reports: list[tuple[str, int, int]] = []
    events: list[tuple[str, str]] = []
    result = run(recipe, ws.root, progress=lambda *r: reports.append(r),
                 on_stage=lambda stage, event: events.append((stage.name, event)))
    assert capsys.readouterr() == ("", "")
    assert result.ran == ["import", "merge"] and ws.labels_path.exists()
    assert events == [(s, e) for s in ("import", "merge") for e in ("started", "finished")]
    assert reports == [("merge", 0, 1), ("merge", 1, 1)]  # one video has annotations


def test_a_run_that_fails_in_its_first_stage_leaves_no_new_workspace(tmp_path: Path, samples: Path, capsys) -> None:
    listing = tmp_path / "videos.csv"  # readable as CSV, refused by ingest: a side that is no side
    listing.write_text(f"path,target\n{samples / 'single_face.mp4'},middle\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text('[recipe]\nname = "r"\n\n[ingest]\nlist = "videos.csv"\n')
    code, _, err = cli(["run", str(recipe), str(tmp_path / "ws")], capsys)
    assert code == 2 and "target 'middle' is neither a side nor a track id" in err
    assert not (tmp_path / "ws").exists()
    # a workspace that was there before keeps everything it had
    Workspace.init(tmp_path / "old")
    before = tree(tmp_path / "old")
    code, _, _ = cli(["run", str(recipe), str(tmp_path / "old")], capsys)
    assert code == 2 and tree(tmp_path / "old") == before


def test_a_recipe_adopts_a_given_split(tmp_path: Path, capsys) -> None:
    ws = labelled_workspace(tmp_path / "ws", n_videos=6, n_subjects=3, frames=30, au_rates={"AU12": 0.3})
    m = ws.manifest()
    given = tmp_path / "official.csv"
    parts = {s: p for s, p in zip(sorted(m["subject"].unique()), ["Train_Set", "Validation_Set", "Test_Set"],
                                  strict=True)}
    given.write_text("subject,split\n" + "".join(f"{s},{p}\n" for s, p in parts.items()))
    recipe = tmp_path / "r.toml"
    recipe.write_text('[recipe]\nname = "r"\n\n[split]\nfrom_file = "official.csv"\n')
    code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    assert code == 0, err
    table = io.read_parquet(ws.splits_path)
    got = dict(zip(table["subject"], table["split"], strict=True))
    assert got == {s: {"Train_Set": "train", "Validation_Set": "val", "Test_Set": "test"}[p] for s, p in parts.items()}
    recipe.write_text('[recipe]\nname = "r"\n\n[split]\nfrom_file = "missing.csv"\n')
    code, _, err = cli(["run", str(recipe), str(ws.root)], capsys)
    assert code == 2 and "missing.csv" in err and "[split] from_file" in err


def test_a_bundled_recipe_runs_by_name_beside_a_folder_of_that_name(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "demo").mkdir()  # like pipelines/demo/ beside pipelines/demo.toml
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["run", "demo", str(tmp_path / "ws"), "--dry-run"], capsys)
    assert code == 0, err
    assert "demo: The sample media, end to end" in " ".join(out.split())
