"""The desk's editing rules without a screen: edits, undo, the journal and the tables it saves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import import_files
from affcurate.labels.merge import merge
from affcurate.labels.model import read_annotation
from affcurate.workspace import Workspace
from annotator_gui.edits import machine_edit
from annotator_gui.journal import Journal, journal_path
from annotator_gui.labels import Labels, Overlay, fill_short_gaps
from annotator_gui.session import Session

VIDEO = "WolfgangLanger_Pexels"
SHORT = "single_face"

AUS = ("AU1", "AU2", "AU12")


def _state(lab: Labels) -> tuple:
    return (lab.au_p.copy(), np.nan_to_num(lab.au_i, nan=-9), lab.expr.copy(), np.nan_to_num(lab.va, nan=-9))


ops = st.one_of(
    st.builds(lambda s, n, au, p, i: {"k": "au", "au": au, "s": s, "e": min(s + n, 49), "p": p, "i": i},
              st.integers(0, 49), st.integers(0, 20), st.sampled_from(AUS), st.sampled_from([-1, 0, 1]),
              st.sampled_from([None, 1, 3, 5])),
    st.builds(lambda s, n, v: {"k": "expr", "s": s, "e": min(s + n, 49), "v": v},
              st.integers(0, 49), st.integers(0, 20), st.sampled_from([None, 0, 4, 7])),
    st.builds(lambda s, v, a: {"k": "va", "s": s, "e": s, "v": v, "a": a},
              st.integers(0, 49), st.floats(-1, 1), st.floats(-1, 1)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ops, min_size=1, max_size=25))
def test_undoing_every_edit_in_reverse_restores_the_start(edits):
    lab = Labels(50, AUS, 8)
    lab.apply({"k": "au", "au": "AU2", "s": 5, "e": 9, "p": 1, "i": 2})
    before = _state(lab)
    inverses = [lab.apply(op) for op in edits]
    for inv in reversed(inverses):
        lab.apply(inv)
    for a, b in zip(before, _state(lab), strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(st.lists(ops, min_size=1, max_size=25), st.integers(0, 25))
def test_replaying_a_journal_on_a_later_save_gives_the_same_state(edits, saved_after):
    """The tables may have been saved after any prefix of the journal: replaying all of it still ends right."""
    final = Labels(50, AUS, 8)
    for op in edits:
        final.apply(op)
    base = Labels(50, AUS, 8)
    for op in edits[:saved_after]:
        base.apply(op)
    for op in edits:
        base.apply(op)
    for a, b in zip(_state(final), _state(base), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_edits_are_refused():
    lab = Labels(10, AUS, 8)
    with pytest.raises(ValueError, match="outside the video"):
        lab.apply({"k": "expr", "s": 5, "e": 10, "v": 1})
    with pytest.raises(ValueError, match="class outside"):
        lab.apply({"k": "expr", "s": 0, "e": 0, "v": 8})
    with pytest.raises(Exception, match="unknown AU 'AU99'"):
        lab.apply({"k": "au", "au": "AU99", "s": 0, "e": 0, "p": 1})


def test_short_va_gaps_are_filled_long_ones_kept():
    va = np.full((20, 2), np.nan)
    va[[0, 2, 4, 5, 15], 0] = [0.0, 0.2, 0.4, 0.5, 1.0]
    out = fill_short_gaps(va, 3)
    np.testing.assert_allclose(out[:6, 0], [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert np.isnan(out[6:15, 0]).all()  # 10 frames between two samples: not a playback skip, left missing
    assert np.isnan(out[:, 1]).all()


def test_session_saves_tables_that_merge_reads(ws: Workspace, validate_rows):
    s = Session(ws, VIDEO, "alice")
    n = s.n_frames
    s.edit({"k": "au", "au": "AU12", "s": 100, "e": 199, "p": 1, "i": 3})
    s.edit({"k": "au", "au": "AU4", "s": 50, "e": 60, "p": 1})
    s.edit({"k": "expr", "s": 0, "e": n - 1, "v": 0})
    s.edit({"k": "expr", "s": 120, "e": 150, "v": 4})
    for f in range(200, 260, 2):  # a 2x pass: every other frame rated
        s.edit({"k": "va", "s": f, "e": f, "v": 0.5, "a": -0.25})
    paths = s.save()
    assert {p.parent.name for p in paths} == {"au", "expr", "va"}
    assert not journal_path(ws, "alice", VIDEO).exists()
    au = read_annotation(ws.annotation_path("alice", "au", VIDEO))
    assert au.source == "desk" and au.complete and len(au.data) == n
    assert set(au.data.columns) >= {"frame", "AU12", "AU4", "AU12_intensity"}
    assert "AU1" not in au.data.columns  # an AU never looked at is not claimed absent
    for p in paths:
        validate_rows("annotations", io.read_parquet(p))
    r = merge(ws, drop_no_face=False)
    lab = r.labels[r.labels["video_id"] == VIDEO].set_index("frame")
    assert lab.loc[100:199, "AU12"].eq(1).all() and lab.loc[:99, "AU12"].eq(0).all()
    assert lab.loc[100:199, "AU12_intensity"].eq(3).all()
    assert lab.loc[120:150, "expr"].eq(4).all() and lab.loc[151:, "expr"].eq(0).all()
    assert lab.loc[200:258, "valence"].eq(0.5).all()  # the skipped frames filled between samples
    assert lab.loc[:199, "valence"].isna().all() and lab.loc[259:, "valence"].isna().all()


def test_reopening_loads_saved_labels_and_a_crash_journal(ws: Workspace):
    s = Session(ws, VIDEO, "alice")
    s.edit({"k": "expr", "s": 10, "e": 20, "v": 3})
    s.save()
    s.edit({"k": "expr", "s": 15, "e": 30, "v": 6})
    s.journal.sync()  # the desk dies here: the second edit is only in the journal
    again = Session(ws, VIDEO, "alice")
    assert again.recovered == 1
    assert list(again.labels.expr[9:32]) == [-1] + [3] * 5 + [6] * 16 + [-1]


def test_a_torn_last_journal_line_is_ignored_a_torn_middle_is_an_error(ws: Workspace):
    path = journal_path(ws, "bob", VIDEO)
    path.parent.mkdir(parents=True)
    n = Session(ws, VIDEO, "bob").n_frames
    header = {"affcurate_journal": 1, "video_id": VIDEO, "annotator": "bob", "n_frames": n}
    good = {"k": "expr", "s": 1, "e": 2, "v": 5}
    path.write_text(json.dumps(header) + "\n" + json.dumps(good) + "\n" + '{"k": "expr", "s": 3, "e"')
    header_read, ops_read = Journal.read(path)
    assert header_read["video_id"] == VIDEO and ops_read == [good]
    assert Session(ws, VIDEO, "bob").labels.expr[1] == 5
    path.write_text(json.dumps(header) + "\n" + '{"k": "ex\n' + json.dumps(good) + "\n")
    with pytest.raises(InputError, match=r"bob/WolfgangLanger_Pexels.jsonl:2: .*not JSON"):
        Session(ws, VIDEO, "bob")


def test_undo_of_everything_removes_the_saved_table(ws: Workspace):
    s = Session(ws, VIDEO, "carol")
    s.edit({"k": "expr", "s": 0, "e": 5, "v": 1})
    s.save()
    s.undo()
    s.save()
    assert not ws.annotation_path("carol", "expr", VIDEO).exists()
    assert s.redo() and s.labels.expr[0] == 1


def test_other_annotators_are_overlays_not_own_labels(ws: Workspace):
    a = Session(ws, VIDEO, "alice")
    a.edit({"k": "va", "s": 0, "e": 29, "v": 0.3, "a": 0.1})
    a.save()
    b = Session(ws, VIDEO, "bob")
    assert np.isnan(b.labels.va).all()
    (o,) = b.overlays
    assert (o.annotator, o.task, o.machine) == ("alice", "va", False)
    assert np.allclose(o.values["valence"][:30], 0.3) and np.isnan(o.values["valence"][30:]).all()
    assert isinstance(pd.Series(o.values["arousal"]).iloc[0], float)


def test_the_last_merge_is_shown_beside_the_annotators(ws: Workspace):
    for who, v in (("alice", 0.2), ("bob", 0.6)):
        s = Session(ws, VIDEO, who)
        s.edit({"k": "va", "s": 10, "e": 39, "v": v, "a": -v})
        s.save()
        s.close()
    merge(ws, drop_no_face=False)
    c = Session(ws, VIDEO, "carol")
    merged = [o for o in c.overlays if o.annotator == "merged"]
    assert [(o.task, o.machine) for o in merged] == [("va", False)]  # shown, never accepted with A
    val = merged[0].values["valence"]
    assert len(val) == c.n_frames
    assert np.allclose(val[10:40], 0.4) and np.isnan(val[:10]).all() and np.isnan(val[40:]).all()
    c.close()


def test_a_video_open_in_another_desk_is_refused(ws: Workspace, other_desk):
    with other_desk(VIDEO, "alice") as pid:
        with pytest.raises(Exception, match=rf"{VIDEO} for alice is already open in another desk \(process {pid}\)"):
            Session(ws, VIDEO, "alice")
        Session(ws, VIDEO, "bob").close()  # another annotator is free to work on it
    Session(ws, VIDEO, "alice").close()  # the holder is gone: its lock is taken over


def test_accepting_machine_labels_writes_them_on_the_range_as_one_edit(ws: Workspace, samples: Path, tmp_path: Path):
    csv = tmp_path / f"{SHORT}.csv"
    shutil.copy(samples / "OpenFace_Test.csv", csv)
    import_files(ws, "openface", [csv], clock="grid")
    s = Session(ws, SHORT, "alice")
    j = s.labels.au_index("AU12")
    s.edit({"k": "au", "au": "AU12", "s": 0, "e": s.n_frames - 1, "p": 1, "i": 2})
    (machine,) = [o for o in s.overlays if o.machine]
    assert s.accept_machine("au", 10, 40, au="AU12") is machine
    theirs = machine.values["AU12"][10:41]
    assert np.array_equal(s.labels.au_p[10:41, j], theirs.astype(int))
    assert np.allclose(s.labels.au_i[10:41, j], machine.values["AU12_intensity"][10:41])
    assert (s.labels.au_p[:10, j] == 1).all() and (s.labels.au_p[41:, j] == 1).all()  # outside: own labels
    assert s.accept_machine("expr", 0, s.n_frames - 1) is None  # openface gives no expressions
    assert (s.labels.expr == -1).all()
    s.undo()
    assert (s.labels.au_p[:, j] == 1).all() and (s.labels.au_i[:, j] == 2).all()
    s.close()


def test_where_the_machine_said_nothing_own_labels_stay():
    lab = Labels(6, AUS, 8)
    lab.apply({"k": "expr", "s": 0, "e": 5, "v": 3})
    lab.apply({"k": "va", "s": 0, "e": 5, "v": 0.5, "a": 0.5})
    nan = np.nan
    expr = Overlay("pyfeat", "expr", "pyfeat", {"expr": np.array([1, nan, 2, nan, 4, 4])})
    lab.apply(machine_edit(expr, lab, 1, 4))
    assert lab.expr.tolist() == [3, 3, 2, 3, 4, 3]
    va = Overlay("pyfeat", "va", "pyfeat", {"valence": np.array([nan, -0.2, nan, nan, nan, nan])})
    lab.apply(machine_edit(va, lab, 0, 5))
    assert np.allclose(lab.va[:, 0], [0.5, -0.2, 0.5, 0.5, 0.5, 0.5]) and np.allclose(lab.va[:, 1], 0.5)
    assert machine_edit(Overlay("openface", "au", "openface", {"AU2": np.zeros(6)}), lab, 0, 5, au="AU12") is None
