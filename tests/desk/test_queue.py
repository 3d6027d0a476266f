"""The review queues without a screen: built from a real merge and from model pre-labels, and the record of what
was reviewed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from affcurate import io
from affcurate.cli import main as cli_main
from affcurate.errors import AffcurateError, InputError
from affcurate.labels.model import read_annotation
from affcurate.workspace import Workspace
from annotator_gui.queue import open_queue, read_record, record_path

VIDEO = "WolfgangLanger_Pexels"  # 591 frames
SHORT = "single_face"  # 72 frames


def test_the_disagreements_queue_is_the_merges_segments_most_disagreed_first(disagreeing: Workspace):
    q = open_queue(disagreeing, "disagreements", "carol")
    seg = io.read_parquet(disagreeing.root / "disagreements.parquet")
    assert [it.key for it in q.items] == [(r.video_id, r.task, r.label, r.start, r.end) for r in seg.itertuples()]
    assert [it.key for it in q.items] == [
        (VIDEO, "au", "AU12", 0, 29), (VIDEO, "au", "AU12", 90, 119),
        (VIDEO, "va", "valence", 300, 329), (VIDEO, "va", "valence", 330, 359),
        (SHORT, "expr", "expr", 60, 71), (SHORT, "expr", "expr", 30, 59)]
    scores = [it.score for it in q.items]
    assert scores == sorted(scores, reverse=True)
    assert (q.resume(), q.n_reviewed, q.progress(0)) == (0, 0, "disagreements queue · item 1 of 6 · 0 reviewed")
    assert q.describe(0) == "AU12, frames 0–29, disagreement 0.50"
    only = open_queue(disagreeing, "disagreements", "carol", video=SHORT, task="expr")
    assert [it.start for it in only.items] == [60, 30]


def test_reviews_are_recorded_with_who_and_when_and_the_queue_resumes(disagreeing: Workspace):
    q = open_queue(disagreeing, "disagreements", "carol")
    q.review(0, changed=True)
    q.review(1, changed=False)
    path = record_path(disagreeing, "carol", "disagreements")
    assert path == disagreeing.root / ".affcurate" / "desk" / "carol" / "queues" / "disagreements.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0] == {"affcurate_queue": 1, "kind": "disagreements", "annotator": "carol"}
    assert [(r["annotator"], r["label"], r["start"], r["end"], r["changed"]) for r in lines[1:]] == [
        ("carol", "AU12", 0, 29, True), ("carol", "AU12", 90, 119, False)]
    assert all(pd.Timestamp(r["reviewed"]) <= pd.Timestamp.now(tz="UTC") for r in lines[1:])
    again = open_queue(disagreeing, "disagreements", "carol")
    assert (again.resume(), again.n_reviewed) == (2, 2)
    assert again.progress(1).endswith("· this one reviewed")
    # each annotator has their own record; a rerun merge keeps the reviews of the segments it finds again
    assert open_queue(disagreeing, "disagreements", "dave").resume() == 0
    for i in range(len(again)):
        again.review(i, changed=False)
    assert open_queue(disagreeing, "disagreements", "carol").resume() == len(again) - 1  # all done: the last


def test_a_record_cut_short_by_a_crash_loses_only_the_line_being_written(disagreeing: Workspace):
    q = open_queue(disagreeing, "disagreements", "carol")
    q.review(0, changed=False)
    path = q.path
    with open(path, "ab") as fh:
        fh.write(b'{"video_id":"WolfgangLanger_Pexels","task":"au","lab')  # killed mid-line
    again = open_queue(disagreeing, "disagreements", "carol")
    assert again.resume() == 1
    again.review(1, changed=False)
    assert [(r["start"]) for r in read_record(path)] == [0, 90]  # the torn line was dropped, not glued on
    path.write_text(path.read_text().replace('"start":0', '"start":"zero"'))
    with pytest.raises(InputError, match=r"disagreements.jsonl:2: a review is not an object"):
        open_queue(disagreeing, "disagreements", "carol")


def test_the_uncertain_queue_is_the_models_least_sure_windows_first(predicted: Workspace):
    q = open_queue(predicted, "uncertain", "carol")
    head = [(it.video_id, it.task, it.label, it.start, it.end, round(it.score, 3)) for it in q.items[:3]]
    assert head == [(VIDEO, "expr", "expr", 60, 89, 0.2), (SHORT, "au", "AU12", 30, 59, 0.4),
                    (VIDEO, "expr", "expr", 300, 329, 0.5)]
    assert all(it.source == "run1" for it in q.items)
    assert all(it.end - it.start + 1 == 30 or it.end == {VIDEO: 590, SHORT: 71}[it.video_id] for it in q.items)
    starts = {it.start for it in q.items if it.video_id == VIDEO}
    assert 480 in starts and not starts & {510, 540, 570}  # where the model is sure everywhere: nothing to review
    scores = [it.score for it in q.items]
    assert scores == sorted(scores)
    assert q.describe(0) == "expr, frames 60–89, run1 confidence 0.20"
    # the stored table kept its confidence beside the values
    ann = read_annotation(predicted.annotation_path("run1", "expr", VIDEO))
    assert ann.source == "model" and "confidence" in ann.data.columns


def test_a_queue_with_nothing_to_review_is_refused_in_one_line(ws: Workspace, capsys):
    for kind, msg in (("disagreements", "disagreements.parquet is missing: run `affcurate merge"),
                      ("uncertain", "model pre-labels in"), ("hard", "--queue 'hard': expected one of")):
        with pytest.raises(SystemExit) as e:
            cli_main(["annotate", str(ws.root), "--annotator", "carol", "--queue", kind])
        assert e.value.code == 2
        err = " ".join(capsys.readouterr().err.split())
        assert msg in err and "Traceback" not in err, err
    assert not (ws.state_dir / "desk").exists()  # nothing written


def test_model_tables_without_confidence_or_with_a_bad_one_are_refused(ws: Workspace, disagreeing: Workspace,
                                                                        write_model):
    write_model(ws, VIDEO, "expr", {"expr": np.zeros(591, int)}, None)
    with pytest.raises(AffcurateError, match="none of the 1 model pre-label tables has a confidence column"):
        open_queue(ws, "uncertain", "carol")
    write_model(ws, SHORT, "expr", {"expr": np.zeros(72, int)}, np.full(72, np.nan))  # a model that cannot say
    with pytest.raises(AffcurateError, match="the model pre-labels give no confidence on any frame"):
        open_queue(ws, "uncertain", "carol")
    write_model(ws, SHORT, "expr", {"expr": np.zeros(72, int)}, np.full(72, 1.5))
    with pytest.raises(InputError, match=r"single_face.parquet: confidence 1.5 is outside \[0, 1\]"):
        open_queue(ws, "uncertain", "carol")
    with pytest.raises(AffcurateError, match="has no item on video nope"):
        open_queue(disagreeing, "disagreements", "carol", video="nope")


def test_the_command_filters_the_queue_by_video_and_task(disagreeing: Workspace, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["annotate", str(disagreeing.root), "--annotator", "carol", "--queue", "disagreements",
                  "--video", SHORT, "--task", "va"])
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the disagreements queue of" in err and "has no item on video single_face of task va" in err


def test_a_confidence_per_label_gives_items_of_that_label(ws: Workspace):
    from affcurate.labels.model import Annotation, write_annotation

    n = 72
    vc, ac = np.full(n, 0.9), np.full(n, 0.8)
    vc[0:30], ac[30:60] = 0.1, 0.3
    df = pd.DataFrame({"frame": np.arange(n, dtype=np.int64), "valence": np.zeros(n), "arousal": np.zeros(n),
                       "valence_confidence": vc, "arousal_confidence": ac})
    write_annotation(ws, Annotation(SHORT, "va", "run2", df, source="model", complete=True), checked=True)
    q = open_queue(ws, "uncertain", "carol")
    assert [(it.label, it.start, round(it.score, 2)) for it in q.items[:2]] == [("valence", 0, 0.1),
                                                                             ("arousal", 30, 0.3)]
    assert {it.label for it in q.items} == {"valence", "arousal"}


def test_items_of_videos_no_longer_ingested_are_left_out_and_counted(disagreeing: Workspace):
    path = disagreeing.root / "disagreements.parquet"
    seg = io.read_parquet(path)
    gone = seg.iloc[:1].assign(video_id="gone", score=0.99)
    io.write_parquet(pd.concat([gone, seg], ignore_index=True), path)
    q = open_queue(disagreeing, "disagreements", "carol")
    assert (len(q), q.left_out, q.items[0].video_id) == (6, 1, VIDEO)
