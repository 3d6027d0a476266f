import json
from pathlib import Path

import pytest

from affcurate.errors import AffcurateError, InputError
from affcurate.settings import Settings, load_schema
from affcurate.workspace import Workspace, safe_video_id, validate_video_id


def test_init_writes_documented_defaults(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    text = ws.settings_path.read_text()
    assert "fps = 30.0" in text and "[faces]" in text and "schemas/settings.schema.json" in text
    assert ws.settings == Settings()
    assert ws.settings.fps == 30.0 and ws.settings.faces.crop_size == 112


def test_schema_defaults_equal_the_dataclass_defaults() -> None:
    schema = load_schema("settings")
    defaults = Settings().to_dict()
    for section, values in defaults.items():
        props = schema["properties"][section]["properties"]
        assert set(props) == set(values), section
        for key, value in values.items():
            assert props[key]["default"] == value, f"{section}.{key}"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[ingest]\nfsp = 25\n", "ingest: Additional properties are not allowed ('fsp' was unexpected)"),
        ("[ingest]\nfps = 'thirty'\n", "ingest.fps: 'thirty' is not of type 'number'"),
        ("[faces]\ndetector = 'yolo'\n", "faces.detector: 'yolo' is not one of"),
        ("[nonsense]\n", "'nonsense' was unexpected"),
        ("[ingest\n", "not valid TOML"),
    ],
)
def test_bad_settings_give_one_clear_error(tmp_path: Path, toml: str, expected: str) -> None:
    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_text(toml)
    with pytest.raises(InputError) as err:
        Workspace.open(tmp_path)
    msg = str(err.value)
    assert expected in msg and "affcurate.toml" in msg and "\n" not in msg


def test_partial_settings_keep_defaults(tmp_path: Path) -> None:
    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_text("[ingest]\nfps = 25\n[split]\nbalance_columns = ['gender']\n")
    s = Workspace.open(tmp_path).settings
    assert s.ingest.fps == 25 and s.ingest.crf == 18 and s.split.balance_columns == ("gender",)


def test_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(AffcurateError, match="not an affcurate workspace"):
        Workspace.open(tmp_path)


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "a\\b", "..", ".hidden", "x" * 200, "a b"])
def test_invalid_video_ids_are_refused(bad: str) -> None:
    with pytest.raises(AffcurateError, match="invalid video id"):
        validate_video_id(bad)


@pytest.mark.parametrize("name", ["clip 1 (final)", "../../x", "a/b\\c", "..", "ü-ber.clip"])
def test_safe_ids_from_any_file_name(name: str) -> None:
    vid = safe_video_id(name)
    assert validate_video_id(vid) == vid


def test_every_table_schema_is_valid_json_schema() -> None:
    import jsonschema

    for path in (Path(__file__).parents[2] / "schemas").glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
