"""The report reproduces seed 001's Tables 3.1-3.4 in their own units, read back from report.md and report.html
as a user reads them: counts before merge's filters, shares of AU annotations, men and women per split, per
batch, each video's length fix, and headers that are plain names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affcurate import io
from affcurate.cli import main
from affcurate.labels.merge import merge
from affcurate.labels.model import Annotation, write_annotations
from affcurate.reporting import report
from affcurate.synthetic import labelled_workspace
from affcurate.workspace import Workspace

AUS = ["AU1", "AU12"]
# the subjects' split, as `split --from` or a hand-made splits.parquet gives it
SPLIT = {"v1": "train", "v2": "train", "v3": "train", "v4": "test", "v5": "test"}


def section(md: str, title: str) -> str:
    """The text of one ``## title…`` section of report.md."""
    parts = re.split(r"^## ", md, flags=re.M)
    found = [p for p in parts if p.startswith(title)]
    assert found, f"no section {title!r} in the report"
    return found[0]


def md_table(text: str) -> pd.DataFrame:
    """The first Markdown table of ``text`` as strings, indexed by its first column."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    header, body = rows[0], [r for r in rows[2:]]
    return pd.DataFrame([r[1:] for r in body], index=[r[0] for r in body], columns=header[1:])


def count_share(cell: str) -> tuple[int, float]:
    m = re.fullmatch(r"(\d+) \(([\d.]+)%\)", cell)
    assert m, cell
    return int(m.group(1)), float(m.group(2))


def write_split(ws: Workspace, videos: dict) -> None:
    subjects = {vid: subject for vid, (_, _, subject, _) in videos.items()}
    io.write_parquet(pd.DataFrame({"video_id": list(SPLIT), "subject": [subjects[v] for v in SPLIT],
                                   "split": list(SPLIT.values())}), ws.splits_path, metadata={"method": "given"})


def test_frames_with_an_au_are_counted_before_the_au_positive_filter(au_ws) -> None:
    ws, on, videos = au_ws.ws, au_ws.on, au_ws.videos
    md = report(ws).markdown.read_text()
    general = md_table(section(md, "Dataset (seed 001 Table 3.1)"))
    frames = sum(n for n, *_ in videos.values())
    positive = sum(int((on[v]["AU1"] | on[v]["AU12"]).sum()) for v in videos)
    n, share = count_share(general.loc["frames with at least one AU", "total"])
    assert (int(general.loc["frames", "total"]), n) == (frames, positive)
    assert share == round(100 * positive / frames, 1) < 100
    assert int(general.loc["AUs annotated (frame × AU)", "total"]) == sum(
        int(on[v][a].sum()) for v in videos for a in AUS)
    # labels.parquet holds only the frames with an AU: the filter table shows both counts
    steps = md_table(section(md, "Frames through merge's filters"))
    assert count_share(steps.loc["frames on the grid", "total"]) == (frames, 100.0)
    assert count_share(steps.loc["kept in labels.parquet (keep=au-positive)", "total"])[0] == positive
    assert len(io.read_parquet(ws.labels_path)) == positive


def test_tables_are_per_batch_when_the_manifest_names_batches(au_ws) -> None:
    ws, on, videos = au_ws.ws, au_ws.on, au_ws.videos
    md = report(ws).markdown.read_text()
    general = md_table(section(md, "Dataset (seed 001 Table 3.1)"))
    assert list(general.columns) == ["batch 1", "batch 2", "total"]
    for batch in ("1", "2"):
        vids = [v for v, (_, b, _, _) in videos.items() if b == batch]
        assert int(general.loc["videos", f"batch {batch}"]) == len(vids)
        assert int(general.loc["frames", f"batch {batch}"]) == sum(videos[v][0] for v in vids)
        positive = sum(int((on[v]["AU1"] | on[v]["AU12"]).sum()) for v in vids)
        assert count_share(general.loc["frames with at least one AU", f"batch {batch}"])[0] == positive


def test_au_shares_are_of_au_annotations_and_sum_to_100(au_ws) -> None:
    ws, on, videos = au_ws.ws, au_ws.on, au_ws.videos
    table = md_table(section(report(ws).markdown.read_text(), "Action Units (seed 001 Table 3.2)"))
    counts = {a: sum(int(on[v][a].sum()) for v in videos) for a in AUS}
    for group in ("batch 1", "batch 2", "total"):
        shares = table.loc[AUS, f"% of AU annotations {group}"].astype(float)
        assert shares.sum() == pytest.approx(100, abs=0.11)  # each share rounded to 0.1
        assert table.loc["total", f"% of AU annotations {group}"] == "100.0"
    for a in AUS:
        assert int(table.loc[a, "count total"]) == counts[a]
        assert float(table.loc[a, "% of AU annotations total"]) == round(100 * counts[a] / sum(counts.values()), 1)
    assert int(table.loc["total", "count total"]) == sum(counts.values())


def test_men_and_women_per_split_and_the_au_distribution_between_splits(au_ws) -> None:
    ws = au_ws.ws
    write_split(ws, au_ws.videos)
    md = report(ws).markdown.read_text()
    gender = md_table(section(md, "Split — men and women (seed 001 Table 3.3)"))
    # train: v1 m, v2 f, v3 m; test: v4 f, v5 "male"
    assert gender.loc["train", ["subjects", "men", "women"]].astype(int).tolist() == [3, 2, 1]
    assert gender.loc["test", ["subjects", "men", "women"]].astype(int).tolist() == [2, 1, 1]
    assert gender.loc["total", ["subjects", "men", "women"]].astype(int).tolist() == [5, 3, 2]
    t34 = md_table(section(md, "Split — Action Units (seed 001 Table 3.4)"))
    labels = io.read_parquet(ws.labels_path)  # after the filter, as the seed's Table 3.4
    part = labels["video_id"].map(SPLIT)
    for p in ("train", "test"):
        rows = labels[part == p]
        counts = {a: int(rows[a].sum()) for a in AUS}
        for a in AUS:
            assert int(t34.loc[a, f"count {p}"]) == counts[a]
            assert float(t34.loc[a, f"% {p}"]) == round(100 * counts[a] / sum(counts.values()), 2)
        assert t34.loc["total", f"% {p}"] == "100.00"
    gap = abs(float(t34.loc["AU1", "% train"]) - float(t34.loc["AU1", "% test"]))
    assert float(t34.loc["AU1", "gap (pp)"]) == pytest.approx(gap, abs=0.011)


def test_headers_are_plain_names_in_markdown_and_html(au_ws) -> None:
    ws = au_ws.ws
    write_split(ws, au_ws.videos)
    paths = report(ws)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    for text in (md, page):
        assert "('count'" not in text and "(&#x27;count&#x27;" not in text and "('%'" not in text
    # the split's AU rates (summary of `affcurate split`) read "count train", "% test"
    rates = md_table(section(md, "Split — AU occurrence"))
    assert {"count train", "count test", "% train", "% test"} <= set(rates.columns)
    assert "<th>count train</th>" in page and "<th>% test</th>" in page
    # one header row per table: a row name's heading sits in the same row as the columns
    for head in re.findall(r"<thead>(.*?)</thead>", page, flags=re.S):
        assert head.count("<tr") == 1


def test_each_videos_length_fix_is_reported(tmp_path: Path, make_ws, au_table) -> None:
    ws = make_ws(tmp_path / "ws", {"short": {"n_src": 60, "src_fps": 30.0, "subject": "a"},
                                          "long": {"n_src": 60, "src_fps": 30.0, "subject": "b"},
                                          "exact": {"n_src": 60, "src_fps": 30.0, "subject": "c"}},
                        {"labels": {"aus": AUS}})
    write_annotations(ws, [au_table("short", 58, {a: np.ones(58, bool) for a in AUS}),
                           au_table("long", 61, {a: np.ones(61, bool) for a in AUS}),
                           au_table("exact", 60, {a: np.ones(60, bool) for a in AUS})])
    merge(ws)
    md = report(ws).markdown.read_text()
    by = md_table(section(md, "Length fixes"))  # the video id is the first column: no row numbers before it
    assert set(by.index) == {"short", "long"}
    assert by.loc["short", "labels − video (samples)"] == "-2" and by.loc["short", "fix"] == "extended by 2"
    assert by.loc["long", "labels − video (samples)"] == "1" and by.loc["long", "fix"] == "cropped by 1"
    assert (by["task"] == "au").all() and (by["annotator"] == "ann1").all()


def test_datacard_lists_only_the_tasks_the_workspace_has(tmp_path: Path, make_ws) -> None:
    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 60, "src_fps": 30.0, "subject": "a"}})
    va = pd.DataFrame({"frame": np.arange(60), "valence": np.linspace(-0.5, 0.5, 60), "arousal": 0.2})
    write_annotations(ws, [Annotation("clip", "va", "rater", va, complete=True)])
    merge(ws)
    assert len(ws.settings.labels.aus) == 13  # the default AU set, of which this workspace labels none
    paths = report(ws)
    card = paths.datacard.read_text()
    protocol = card.split("## Annotation protocol", 1)[1].split("##", 1)[0]
    assert "valence-arousal" in protocol and "AU" not in protocol and "expressions" not in protocol
    assert "AU1" not in card and "frames with at least one AU" not in card
    md = paths.markdown.read_text()
    assert "## Action Units" not in md
    general = md_table(section(md, "Dataset (seed 001 Table 3.1)"))
    assert general.loc["frames with valence-arousal", "total"] == "60"


def test_the_cli_writes_the_report_of_a_workspace_merged_before_filters_were_recorded(tmp_path: Path,
                                                                                      capsys) -> None:
    # labels.parquet without merge's metadata (written by an older merge or by hand): counted as it is
    ws = labelled_workspace(tmp_path / "ws", 6, 4, 900, {"AU1": 0.2, "AU12": 0.3}, seed=1)
    main(["report", str(ws.root)])
    assert "report:" in capsys.readouterr().out
    md = (ws.reports_dir / "report.md").read_text()
    general = md_table(section(md, "Dataset (seed 001 Table 3.1)"))
    labels = io.read_parquet(ws.labels_path)
    assert int(general.loc["frames", "total"]) == len(labels)
    assert count_share(general.loc["frames with at least one AU", "total"])[0] == int(
        ((labels["AU1"] == 1) | (labels["AU12"] == 1)).sum())
    assert "labels.parquet (it records no merge filters" in md


def test_frames_without_the_face_are_counted_before_and_after_the_face_step(tmp_path: Path, make_ws,
                                                                            au_table) -> None:
    from affcurate.faces.table import FaceTracks

    ws = make_ws(tmp_path / "ws", {"clip": {"n_src": 90, "src_fps": 30.0, "subject": "a"}}, {"labels": {"aus": AUS}})
    on = {"AU1": np.arange(90) % 3 == 0, "AU12": np.zeros(90, bool)}  # 30 frames with AU1
    write_annotations(ws, [au_table("clip", 90, on)])
    # the subject's face on the first 45 frames only (as the faces stage writes it)
    frames = np.arange(45)
    FaceTracks.from_frame("clip", pd.DataFrame({
        "frame": frames, "track_id": 0, "x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 50.0, "score": 0.9,
        "landmarks": [[[20.0, 20.0]] * 5] * 45, "is_target": True})).write(ws)
    merge(ws, keep="au-positive")
    md = report(ws).markdown.read_text()
    general = md_table(section(md, "Dataset (seed 001 Table 3.1)"))
    assert count_share(general.loc["frames with at least one AU", "total"]) == (30, 33.3)
    steps = md_table(section(md, "Frames through merge's filters"))["total"].map(count_share)
    assert steps["frames on the grid"] == (90, 100.0)
    assert steps["with the subject's face"] == (45, 50.0)
    assert steps["labelled (any task)"] == (45, 50.0)
    assert steps["with at least one AU"] == (15, 16.7)
    assert steps["kept in labels.parquet (keep=au-positive)"][0] == 15 == len(
        io.read_parquet(ws.labels_path))
