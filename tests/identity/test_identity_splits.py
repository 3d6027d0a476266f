"""Splits that cannot leak a person: `split --subjects faces|both` and `split --check` against the faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_code import exit_code as _code

from affcurate import io
from affcurate.cli import main
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotation
from affcurate.workspace import Workspace

VIDEOS = ("man_a", "man_b", "man_c", "woman_a", "woman_b", "sky")  # the clips of conftest.py


def _labelled(ws: Workspace) -> Workspace:
    for vid in VIDEOS:
        n = len(ws.frame_map(vid))
        write_annotation(ws, Annotation(vid, "va", "ann", pd.DataFrame(
            {"frame": np.arange(n), "valence": np.linspace(-0.5, 0.5, n), "arousal": np.zeros(n)})))
    merge(ws)
    return ws




def test_a_given_split_that_puts_one_face_in_train_and_test_is_caught(described_ws, copy_ws, tmp_path: Path,
                                                                       capsys) -> None:
    ws = _labelled(copy_ws(described_ws))
    given = tmp_path / "official.csv"  # by the subject ids p1 and p2 are two people: the faces say one
    given.write_text("video_id,split\nman_a,train\nman_b,test\nman_c,train\nwoman_a,train\nwoman_b,train\n")
    assert _code(["split", str(ws.root), "--from", str(given)]) == 0
    capsys.readouterr()
    assert _code(["split", str(ws.root), "--check"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "are one person" in out and "man_b (test)" in out and "leakage" in out
    assert (ws.reports_dir / "split_face_leaks.png").stat().st_size > 1000  # the faces side by side


def test_a_split_by_faces_keeps_every_person_on_one_side(described_ws, copy_ws, capsys) -> None:
    ws = _labelled(copy_ws(described_ws))
    assert _code(["split", str(ws.root), "--subjects", "faces", "--train", "0.5", "--test", "0.5", "--val", "0",
                  "--tolerance", "0.5"]) == 0
    sp = io.read_parquet(ws.splits_path).set_index("video_id")["split"]
    assert sp["man_a"] == sp["man_b"] == sp["man_c"] and sp["woman_a"] == sp["woman_b"] != sp["man_a"]
    assert io.parquet_metadata(ws.splits_path)["subjects"] == "faces"
    capsys.readouterr()
    assert _code(["split", str(ws.root), "--check"]) == 0
    # both: subject p3 holds a man and a woman, so the faces and the ids together make everyone one person
    assert _code(["split", str(ws.root), "--train", "0.5", "--test", "0.5", "--val", "0"]) == 2
    assert "1 subjects cannot fill 2 splits" in capsys.readouterr().err


def test_splitting_by_faces_before_the_identities_exist_is_one_line(people_ws, copy_ws, capsys) -> None:
    ws = _labelled(copy_ws(people_ws))
    assert _code(["split", str(ws.root), "--subjects", "faces"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--subjects faces needs the identities: run `affcurate subjects {ws.root}` first")
    with pytest.raises(SystemExit):
        main(["split", str(ws.root), "--subjects", "eyes"])
    assert "expected one of given, faces, both" in capsys.readouterr().err


def test_the_report_shows_the_identities_and_the_datacard_says_how_subjects_were_found(described_ws, copy_ws,
                                                                                        capsys) -> None:
    ws = _labelled(copy_ws(described_ws))
    assert _code(["split", str(ws.root), "--subjects", "faces", "--train", "0.5", "--test", "0.5", "--val", "0",
                  "--tolerance", "0.5"]) == 0
    assert _code(["report", str(ws.root)]) == 0
    html = (ws.reports_dir / "report.html").read_text()
    assert "Identities (affcurate subjects)" in html and (ws.reports_dir / "contact_sheet.png").exists()
    card = " ".join((ws.reports_dir / "datacard.md").read_text().split())
    assert "Checked by face (`affcurate subjects`: dlib face descriptors, threshold 0.5): 2 identities" in card
    assert "no person (by face identity) is in two splits" in card


def test_the_identity_tables_match_their_schemas(described_ws) -> None:
    import json

    import jsonschema

    from affcurate.settings import schema_file

    for name in ("identities", "findings"):
        schema = json.loads(schema_file(name).read_text())
        table = io.read_parquet(described_ws.root / "identity" / f"{name}.parquet")
        assert len(table)
        for rec in table.to_dict("records"):
            clean = {k: (v.tolist() if isinstance(v, np.ndarray) else None if v is None or v is pd.NA or (
                isinstance(v, float) and v != v) else v) for k, v in rec.items()}
            jsonschema.validate(clean, schema)
