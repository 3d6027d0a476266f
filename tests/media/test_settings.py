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
    ("toml", "expected", "line"),
    [
        ("[ingest]\nfsp = 25\n", "ingest: Additional properties are not allowed ('fsp' was unexpected)", 2),
        ("[ingest]\nfps = 'thirty'\n", "ingest.fps: 'thirty' is not of type 'number'", 2),
        ("[faces]\ndetector = 'yolo'\n", "faces.detector: 'yolo' is not one of", 2),
        ("[nonsense]\n", "'nonsense' was unexpected", 1),
        ("[ingest\n", "not valid TOML", 1),
        ("[ingest]\ncrf = 18\nfps = nan\n", "ingest.fps: nan is not a finite number", 3),
        ("[ingest]\nfps = inf\n", "ingest.fps: inf is not a finite number", 2),
        ("[faces]\nmin_score = -inf\n", "faces.min_score: -inf is not a finite number", 2),
        ("[labels]\nva_fusion = 'mean'\naus = []\n", "labels.aus: the list is empty; expected at least 1", 3),
        ("[labels]\nexpressions = []\n", "labels.expressions: the list is empty", 2),
        ("[labels]\naus = ['AU1', 'AU1']\n", "labels.aus: ['AU1', 'AU1'] has non-unique elements", 2),
        ("[ingest]\nfps = 1e300\n", "ingest.fps: 1e+300 is greater than the maximum of 1000", 2),
        ("a = 1\na = 2\n", "not valid TOML: Cannot overwrite a value", 2),
        ("[ingest]\nfps = [1,\n", "not valid TOML: Invalid value", 2),
    ],
)
def test_bad_settings_give_one_clear_error_at_their_line(tmp_path: Path, toml: str, expected: str, line: int) -> None:
    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_text(toml)
    with pytest.raises(InputError) as err:
        Workspace.open(tmp_path)
    msg = str(err.value)
    assert expected in msg and "\n" not in msg
    assert msg.startswith(f"{tmp_path / 'affcurate.toml'}:{line}: ")


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_text("[split]\nseed = 1\nshuffle = true\n")
    with pytest.raises(InputError, match=r":3: .*'shuffle' was unexpected\); allowed keys: balance_columns, draws, "
                                         r"folds, method, seed, test, tolerance, train, val$"):
        Workspace.open(tmp_path)


def test_non_utf8_settings_name_the_line_through_the_command_line(tmp_path: Path, capsys) -> None:
    from affcurate.cli import main

    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_bytes(b"[ingest]\nfps = 25\n# caf\xe9\n")
    with pytest.raises(SystemExit) as exit_:
        main(["init", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert f"{tmp_path / 'affcurate.toml'}:3: byte 0xe9 is not UTF-8" in err


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    Workspace.init(tmp_path)
    (tmp_path / "affcurate.toml").write_bytes(b"\xef\xbb\xbf[ingest]\nfps = 25\n")
    assert Workspace.open(tmp_path).settings.fps == 25


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
