"""The package holds what it needs: schemas/ and pipelines/ travel inside it (affcurate/_data), so a wheel
installed anywhere finds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from affcurate.recipe import bundled_recipes
from affcurate.settings import load_schema, schema_file

REPO = Path(__file__).parents[2]
DATA = REPO / "affcurate" / "_data"


def _sources() -> set[str]:
    return {str(p.relative_to(REPO)) for top in ("schemas", "pipelines") for p in (REPO / top).rglob("*")
            if p.is_file()}


def test_every_schema_and_recipe_file_has_its_link_in_the_package() -> None:
    links = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_symlink()}
    assert links == _sources(), "run `make data-links` and commit affcurate/_data"
    for rel in links:
        assert (DATA / rel).resolve() == (REPO / rel).resolve()


def test_schemas_and_recipes_are_read_from_the_package() -> None:
    assert Path(str(schema_file("settings"))).parent == DATA / "schemas"
    assert load_schema("settings")["$id"] == "affcurate/settings.schema.json"
    assert set(bundled_recipes()) == {p.stem for p in (REPO / "pipelines").glob("*.toml")}


def test_a_wheel_holds_the_files_themselves(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "affcurate", "annotator_gui", "schemas", "pipelines"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        kwargs = {"symlinks": True, "ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}
        copy(REPO / name, src / name, **kwargs)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(src)], check=True, env=env, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("affcurate-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for rel in _sources():
            assert f"affcurate/_data/{rel}" in names
            assert zf.read(f"affcurate/_data/{rel}") == (REPO / rel).read_bytes()
