"""The demo recipe end to end on the sample media: what `make demo` runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.workspace import Workspace

DEMO = Path(__file__).parents[2] / "pipelines" / "demo.toml"


@pytest.mark.slow
def test_demo_recipe_end_to_end_and_resume(samples: Path, tmp_path: Path, capsys, validate_rows) -> None:
    ws_dir = tmp_path / "demo"
    main(["run", str(DEMO), str(ws_dir)])
    out = capsys.readouterr().out
    assert "report:" in out and "benchmark table:" in out
    assert re.search(r"─+ faces ─+", out)  # the faces stage runs as a stage of its own, after the media
    ws = Workspace.open(ws_dir)
    m = ws.manifest().set_index("video_id")
    assert (m["status"] == "ok").all() and m.loc["no_face", "faces_status"] == "no_face"
    labels = io.read_parquet(ws.labels_path)
    assert set(labels["video_id"]) == {"wolfgang", "single_face", "face_noface", "noface_face"}
    assert labels["has_face"].all()
    # the sky half of face_noface has no labels: only frames with the man's face are kept
    assert labels.loc[labels["video_id"] == "face_noface", "frame"].max() < 80
    splits = io.read_parquet(ws.splits_path)
    assert splits.groupby("subject")["split"].nunique().max() == 1
    html = (ws.reports_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "Action Units" in html and "<img" in html
    assert not re.search(r"src=['\"](?!data:)", html)  # self-contained
    assert "Identities (affcurate subjects)" in html  # the man's three clips and the woman: two identities
    ident = io.read_parquet(ws.root / "identity" / "identities.parquet").set_index("video_id")["identity"]
    assert ident["single_face"] == ident["face_noface"] == ident["noface_face"] != ident["wolfgang"]
    card = (ws.reports_dir / "datacard.md").read_text()
    assert "## Annotators" in card and "MIT" in card and "demo" in card
    bench = (ws.runs_dir / "benchmark.md").read_text()
    for model in ("prior", "linear", "cnn"):
        assert f"| {model}" in bench
    # every table written by the flow matches its schema (the contract between stages)
    for name, path in (("manifest", ws.manifest_path), ("frames", ws.frames_path("wolfgang")),
                       ("faces", ws.faces_path("wolfgang")), ("labels", ws.labels_path), ("splits", ws.splits_path)):
        validate_rows(name, io.read_parquet(path))
    # a second run skips every finished stage
    main(["run", str(DEMO), str(ws_dir)])
    again = capsys.readouterr().out
    assert again.count("done before, skipped") == 8


def test_report_without_splits_or_faces(tmp_path: Path) -> None:
    from affcurate.reporting import report
    from affcurate.synthetic import seed001_workspace

    ws = seed001_workspace(tmp_path / "ws")
    paths = report(ws)
    md = paths.markdown.read_text()
    assert "frames with at least one AU" in md and "| AU1" in md
    assert (paths.html.parent / "va_hist.png").exists() and (paths.html.parent / "au_va.png").exists()
    assert "Not split yet" in paths.datacard.read_text()
    seed_table = md.split("## Action Units", 1)[1]
    assert "AU4" in seed_table and "% of frames" in seed_table
