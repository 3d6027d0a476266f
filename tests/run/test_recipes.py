"""Recipes: every bundled recipe validates, plans and dry-runs; bad recipes get one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from affcurate.cli import main
from affcurate.errors import AffcurateError, InputError
from affcurate.recipe import STAGES, apply_settings, expand, load_recipe, plan, run
from affcurate.settings import settings_from_dict
from affcurate.workspace import Workspace

PIPELINES = Path(__file__).parents[2] / "pipelines"
RECIPES = sorted(PIPELINES.glob("*.toml"))

def test_there_is_one_recipe_per_known_curation() -> None:
    names = {p.stem for p in RECIPES}
    assert names == {"expression-folders-va", "affwild-au-va", "affwild-au-expr", "afewva-5fold", "affectnet-mt",
                     "demo"}

@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_validates(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert list(recipe.stages) == [s for s in STAGES if s in recipe.stages]
    settings_from_dict(recipe.settings)  # its settings are valid workspace settings

def test_recipes_differ_where_the_curations_differ() -> None:
    r = {p.stem: load_recipe(p) for p in RECIPES}
    assert r["affwild-au-va"].settings["faces"]["target"] == "nearest-centre"
    assert r["affwild-au-va"].stages["split"]["method"] == "random"
    assert r["affwild-au-expr"].settings["faces"]["crop_size"] == 96
    assert r["affwild-au-expr"].settings["labels"]["au_fusion"] == "unanimous"
    assert r["afewva-5fold"].stages["split"]["folds"] == 5
    assert r["affectnet-mt"].settings["faces"] == {"align": "eye-line", "crop_size": 224}
    assert r["expression-folders-va"].stages["split"] == {"train": 0.9, "test": 0.1}
    assert r["demo"].demo_labels

def test_dry_run_prints_the_plan_without_touching_the_workspace(tmp_path: Path, capsys) -> None:
    main(["run", str(PIPELINES / "demo.toml"), str(tmp_path / "ws"), "--dry-run"])
    out = capsys.readouterr().out
    for stage in STAGES:
        assert stage in out
    assert "will run" in out
    assert not (tmp_path / "ws").exists()

def test_settings_of_the_recipe_go_into_the_workspace(tmp_path: Path) -> None:
    recipe = load_recipe(PIPELINES / "affwild-au-expr.toml")

    ws = apply_settings(Workspace.init(tmp_path / "ws"), recipe)
    assert ws.settings.faces.crop_size == 96 and ws.settings.labels.expr_fusion == "unanimous"
    assert Workspace.open(tmp_path / "ws").settings.faces.crop_size == 96
    stages = plan(ws, recipe)
    assert [s.name for s in stages] == ["ingest", "import", "merge", "split", "report", "train"]
    assert not any(s.done for s in stages)

@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[recipe]\nname = 'x'\n[ingest]\n", "invalid recipe at ingest"),
        ("[recipe]\nname = 'x'\n[split]\ntrain = 2\n", "invalid recipe at split.train: 2 is greater than the maximum"),
        ("[recipe]\nname = 'x'\n[shuffle]\n", "'shuffle' was unexpected"),
        ("[recipe]\nname = 'x'\n[settings.faces]\ncrop = 3\n", "'crop' was unexpected"),
        ("[ingest]\nvideos = 'v'\n", "'recipe' is a required property"),
        ("[recipe\n", "not valid TOML"),
    ],
)
def test_bad_recipes(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_recipe(path)
    assert message in str(err.value) and str(err.value).startswith(str(path))

def test_variables_expand_from_options_then_environment(monkeypatch) -> None:
    monkeypatch.setenv("AFFWILD", "/env/affwild")
    assert expand("${DATA}/x", {"DATA": "/opt/d"}, "here") == "/opt/d/x"
    assert expand("${AFFWILD}/VA", {}, "here") == "/env/affwild/VA"
    with pytest.raises(AffcurateError, match=r"here: \$\{MISSING\} is not set; pass --var MISSING=PATH"):
        expand("${MISSING}/x", {}, "here")

def test_missing_variable_stops_before_any_stage(tmp_path: Path) -> None:
    with pytest.raises(AffcurateError, match="AFFWILD_LIST"):
        run(PIPELINES / "affwild-au-va.toml", tmp_path / "ws")
    assert not (tmp_path / "ws" / "manifest.parquet").exists()
