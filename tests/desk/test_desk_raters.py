"""The desk's inter-rater view, on a real workspace that three annotators labelled differently in known frames and
a real ``affcurate merge``: the annotators' rows and traces, merge's figures, the jumps to each disagreement."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from affcurate import io
from affcurate.labels.merge import merge
from affcurate.workspace import Workspace
from annotator_gui.raters_view import RatersPanel
from annotator_gui.session import Session

VIDEO = "WolfgangLanger_Pexels"  # 591 frames
SHORT = "single_face"  # 72 frames
N = 591
SCREENSHOTS = Path(__file__).parents[2] / "annotator_gui" / "screenshots"


def _valence() -> np.ndarray:
    return 0.6 * np.sin(2 * np.pi * np.arange(N) / 200)


def label(ws: Workspace) -> None:
    """Alice, bob and carol on VIDEO: AU12 disagreed on 0-29 and 90-119, AU6 on 180-209; the expression on 300-329
    (carol, who stops there) and 450-590 (bob); valence on 120-179 (carol's the other way round), arousal agreed
    everywhere.
    On SHORT: alice and bob's AU12 (disagreed on 30-35) and alice's valence alone."""
    v = _valence()
    carol_v = v.copy()
    carol_v[120:180] = -v[120:180]
    edits = {
        "alice": [{"k": "au", "au": "AU12", "s": 0, "e": 89, "p": 1, "i": 3},
                  {"k": "au", "au": "AU6", "s": 200, "e": 229, "p": 1},
                  {"k": "expr", "s": 0, "e": N - 1, "v": 1},
                  {"k": "va", "s": 0, "e": N - 1, "v": v.tolist(), "a": 0.3}],
        "bob": [{"k": "au", "au": "AU12", "s": 30, "e": 119, "p": 1},
                {"k": "au", "au": "AU6", "s": 200, "e": 229, "p": 1},
                {"k": "expr", "s": 0, "e": 449, "v": 1}, {"k": "expr", "s": 450, "e": N - 1, "v": 2},
                {"k": "va", "s": 0, "e": N - 1, "v": (v + 0.05).tolist(), "a": 0.35}],
        "carol": [{"k": "au", "au": "AU12", "s": 30, "e": 89, "p": 1, "i": 2},
                  {"k": "au", "au": "AU6", "s": 210, "e": 229, "p": 1},
                  {"k": "expr", "s": 0, "e": 299, "v": 1}, {"k": "expr", "s": 300, "e": 329, "v": 3},
                  {"k": "va", "s": 0, "e": N - 1, "v": carol_v.tolist(), "a": 0.3}],
    }
    for who, ops in edits.items():
        s = Session(ws, VIDEO, who)
        for op in ops:
            s.edit(op)
        s.save()
        s.close()
    for who, ops in {"alice": [{"k": "au", "au": "AU12", "s": 0, "e": 35, "p": 1},
                               {"k": "va", "s": 0, "e": 71, "v": 0.2, "a": -0.2}],
                     "bob": [{"k": "au", "au": "AU12", "s": 0, "e": 29, "p": 1}]}.items():
        s = Session(ws, SHORT, who)
        for op in ops:
            s.edit(op)
        s.save()
        s.close()


@pytest.fixture
def labelled(ws: Workspace) -> Workspace:
    label(ws)
    return ws


@pytest.fixture
def merged(labelled: Workspace) -> Workspace:
    merge(labelled, drop_no_face=False)
    return labelled


def open_panel(desk, **kw) -> tuple:
    d = desk(**kw)
    panel = RatersPanel(d)
    panel.toggle()
    assert panel.isVisible()
    paint(panel)
    return d, panel


def paint(panel: RatersPanel) -> None:
    """Let the chart paint what it holds now (offscreen too), so that ``chart.drawn`` says what is on screen."""
    panel.chart.repaint()
    QApplication.processEvents()


def agreement_of(ws: Workspace, video: str, task: str) -> dict[tuple[str, str], float]:
    df = io.read_parquet(ws.root / "agreement.parquet")
    df = df[(df["video_id"] == video) & (df["task"] == task)]
    return {(r.label, r.statistic): float(r.value) for r in df.itertuples()}


def f2(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.2f}"


def rows_of(panel: RatersPanel) -> dict[str, set[str]]:
    """Per row name on screen: the starts of what was drawn on it."""
    out: dict[str, set[str]] = {}
    for b in panel.chart.drawn.bars:
        out.setdefault(b.row, set()).add(f"{b.start}-{b.end}:{b.value:g}")
    return out


def test_every_annotator_has_rows_for_each_au_and_an_expression_row(desk, merged: Workspace):
    d, panel = open_panel(desk)
    names = panel.chart.drawn.names
    au12 = next(k for k, n in enumerate(names) if n.startswith("AU12"))
    au6 = next(k for k, n in enumerate(names) if n.startswith("AU6"))
    assert au6 < au12  # the workspace's order of AUs
    assert names[au6 + 1:au6 + 4] == ["alice (you)", "bob", "carol"]
    assert names[au12 + 1:au12 + 4] == ["alice (you)", "bob", "carol"]
    assert not any(n.startswith("AU4") for n in names)  # nobody labelled it
    bars = [(b.start, b.end, b.value) for b in panel.chart.drawn.bars if b.value == 1]
    # present: AU6 of alice, bob, carol; then AU12 of alice, bob, carol
    assert bars == [(200, 230, 1), (200, 230, 1), (210, 230, 1), (0, 90, 1), (30, 120, 1), (30, 90, 1)]
    assert "alice (you)" in panel.heading.text() and "carol" in panel.heading.text()
    d.set_mode("expr")
    panel.refresh()
    paint(panel)
    assert panel.chart.drawn.names == ["alice (you)", "bob", "carol"]
    assert rows_of(panel) == {"alice (you)": {"0-591:1"}, "bob": {"0-450:1", "450-591:2"},
                              "carol": {"0-300:1", "300-330:3"}}


def test_every_annotator_has_a_valence_and_an_arousal_trace(desk, merged: Workspace):
    d, panel = open_panel(desk, task="va")
    assert panel.chart.traces == [(c, who, N) for c in ("valence", "arousal") for who in ("alice", "bob", "carol")]
    assert panel.chart.drawn.names == ["valence", "alice (you)", "bob", "carol",
                                       "arousal", "alice (you)", "bob", "carol"]
    d.timeline.zoom(0.25)  # the view follows the timeline's window of frames
    d.seek(300)
    paint(panel)
    tl = d.timeline
    assert panel.chart.start == tl.start and panel.chart.span == tl.span < N
    assert panel.chart.traces[0] == ("valence", "alice", tl.span)


def test_the_figures_shown_are_those_merge_wrote_for_the_video(desk, merged: Workspace):
    d, panel = open_panel(desk)
    fig = agreement_of(merged, VIDEO, "au")
    alphas = [fig[(au, "krippendorff_alpha")] for au in ("AU6", "AU12")]
    kappas = [fig[(au, "fleiss_kappa")] for au in ("AU6", "AU12")]
    assert panel.figures.text() == (f"α {np.mean(alphas):.2f} · κ {np.mean(kappas):.2f}, mean over 2 AUs · "
                                    f"3 annotators")
    names = panel.chart.drawn.names
    for au in ("AU6", "AU12"):
        title = d.scheme.au_title(au)
        expected = f"{title} α {f2(fig[(au, 'krippendorff_alpha')])} · κ {f2(fig[(au, 'fleiss_kappa')])}"
        assert expected in names
    assert 0 < fig[("AU12", "krippendorff_alpha")] < 1  # a figure of a real disagreement, not a constant
    d.set_mode("expr")
    panel.refresh()
    fig = agreement_of(merged, VIDEO, "expr")
    assert f2(fig[("expr", "krippendorff_alpha")]) != f2(fig[("expr", "fleiss_kappa")])  # each in its place
    assert panel.figures.text() == (f"α {f2(fig[('expr', 'krippendorff_alpha')])} · "
                                    f"κ {f2(fig[('expr', 'fleiss_kappa')])} · 3 annotators")
    d.set_mode("va")
    panel.refresh()
    fig = agreement_of(merged, VIDEO, "va")
    assert panel.figures.text() == (
        f"CCC valence {f2(fig[('valence', 'ccc')])}, arousal {f2(fig[('arousal', 'ccc')])} · "
        f"ICC valence {f2(fig[('valence', 'icc')])}, arousal {f2(fig[('arousal', 'icc')])} · "
        f"α valence {f2(fig[('valence', 'krippendorff_alpha')])}, arousal {f2(fig[('arousal', 'krippendorff_alpha')])}"
        f" · 3 annotators")
    assert not panel.note.isVisible()  # nothing changed since the merge


def test_the_figures_are_said_in_order_with_the_undefined_ones():
    """The wording, on figures that differ from one another (merge's own are compared above)."""
    from annotator_gui.raters import Agreement, figures_text

    nan = float("nan")
    au = Agreement({("AU1", "krippendorff_alpha"): (0.5, 3), ("AU1", "fleiss_kappa"): (0.25, 3),
                    ("AU2", "krippendorff_alpha"): (0.7, 3), ("AU2", "fleiss_kappa"): (0.35, 3),
                    ("AU4", "krippendorff_alpha"): (nan, 3), ("AU4", "fleiss_kappa"): (nan, 3)})
    assert figures_text("au", au) == "α 0.60 · κ 0.30, mean over 2 AUs (1 more undefined) · 3 annotators"
    va = Agreement({("valence", "ccc"): (0.71, 2), ("arousal", "ccc"): (0.55, 2), ("valence", "icc"): (0.68, 2),
                    ("arousal", "icc"): (nan, 2)})
    assert figures_text("va", va) == "CCC valence 0.71, arousal 0.55 · ICC valence 0.68, arousal — · 2 annotators"
    assert figures_text("expr", Agreement(reason="merge has not run")) == ("agreement not available: merge has "
                                                                          "not run")


def test_next_disagreement_goes_to_each_known_segment_in_order_then_says_there_is_none(desk, merged: Workspace):
    d, panel = open_panel(desk)
    seen = []
    while (f := panel.next_disagreement()) is not None:
        assert d.current == f
        seen.append((f, d.target_range(), d.au.au))
        assert d.timeline.mark == d.target_range()  # the segment is the desk's marked range, shown
    assert seen == [(0, (0, 29), "AU12"), (90, (90, 119), "AU12"), (180, (180, 209), "AU6")]
    assert d.statusBar().currentMessage() == "no disagreement on AU after frame 180"
    assert panel.where.text() == "no disagreement on AU after frame 180"
    paint(panel)
    assert panel.chart.shaded == [(0, 29), (90, 119), (180, 209)]
    d.set_mode("expr")
    d.seek(0)
    assert [panel.next_disagreement(), panel.next_disagreement(), panel.next_disagreement()] == [300, 450, None]
    assert d.target_range() == (450, 590)  # the windows of a run of disagreement are one segment
    d.set_mode("va")
    d.seek(100)
    assert panel.next_disagreement() == 120 and d.target_range() == (120, 179)
    assert panel.next_disagreement() is None


def test_the_view_follows_the_desk_to_another_video_and_task(desk, merged: Workspace):
    d, panel = open_panel(desk)
    assert VIDEO in panel.heading.text()
    d.open_video(SHORT)
    panel.refresh()
    paint(panel)
    assert SHORT in panel.heading.text() and VIDEO not in panel.heading.text()
    assert [n for n in panel.chart.drawn.names if not n.startswith("AU")] == ["alice (you)", "bob"]
    fig = agreement_of(merged, SHORT, "au")
    assert panel.figures.text() == (f"α {f2(fig[('AU12', 'krippendorff_alpha')])} · "
                                    f"κ {f2(fig[('AU12', 'fleiss_kappa')])}, mean over 1 AU · 2 annotators")
    assert panel.next_disagreement() == 30 and d.target_range() == (30, 59)
    d.set_mode("va")
    panel.refresh()
    assert panel.figures.text() == ("agreement not available: only alice has labelled the valence-arousal of "
                                    "single_face; agreement takes two annotators")
    d.open_video(VIDEO)  # the view follows by itself too, once the desk has repainted
    QApplication.processEvents()
    QApplication.processEvents()
    assert VIDEO in panel.heading.text() and panel.figures.text().startswith("CCC valence")


def test_before_merge_the_view_says_agreement_is_not_available_and_why(desk, labelled: Workspace):
    d, panel = open_panel(desk)
    assert panel.figures.text() == ("agreement not available: merge has not run on this workspace "
                                    f"(affcurate merge {labelled.root})")
    paint(panel)
    assert "bob" in panel.chart.drawn.names and panel.chart.shaded == []  # the labels show all the same
    assert panel.next_disagreement() is None
    assert panel.where.text() == "no disagreement on AU after frame 0 (merge has not run)"


def test_figures_older_than_the_labels_are_said_to_be(desk, merged: Workspace):
    s = Session(merged, VIDEO, "bob")
    s.edit({"k": "au", "au": "AU12", "s": 0, "e": 29, "p": 1})
    s.save()
    s.close()
    t = merged.annotation_path("bob", "au", VIDEO).stat().st_mtime_ns - 10**9  # the merge ran a second before
    os.utime(merged.root / "agreement.parquet", ns=(t, t))
    for who in ("alice", "carol"):
        os.utime(merged.annotation_path(who, "au", VIDEO), ns=(t - 10**9, t - 10**9))
    d, panel = open_panel(desk)
    assert panel.note.isVisible()
    assert panel.note.text() == "bob saved labels after the last merge"


def test_the_panel_shows_and_hides(desk, merged: Workspace):
    d, panel = open_panel(desk)
    panel.toggle()
    assert not panel.isVisible()
    d.open_video(SHORT)
    panel.toggle()  # brought up to date on showing
    assert panel.isVisible() and SHORT in panel.heading.text()


def test_screenshots_of_the_view(desk, merged: Workspace, shots: Path):
    d, panel = open_panel(desk, task="va")
    d.seek(130)
    panel.resize(1000, 420)
    QApplication.processEvents()
    paint(panel)
    panel.grab().save(str(shots / "desk_raters_va.png"))
    d.set_mode("au")
    d.seek(0)
    panel.refresh()
    assert [panel.next_disagreement(), panel.next_disagreement()] == [0, 90]
    panel.resize(1000, 270)
    QApplication.processEvents()
    paint(panel)
    panel.grab().save(str(shots / "desk_raters_au.png"))
    if os.environ.get("AFFCURATE_SCREENSHOTS"):  # retaking the README's screenshots
        for name in ("desk_raters_va.png", "desk_raters_au.png"):
            (SCREENSHOTS / name).write_bytes((shots / name).read_bytes())
    assert panel.chart.traces == [] and d.au.au == "AU12"  # AU mode on screen: rows, not traces


def test_your_edits_show_in_the_view_as_you_make_them(desk, merged: Workspace):
    d, panel = open_panel(desk)
    d.select_au(d.aus.index("AU4"))
    d.seek(10)
    d.au_present()  # AU4 on frame 10: an AU nobody had labelled
    QApplication.processEvents()  # the desk repaints its timeline, the view follows
    QApplication.processEvents()
    paint(panel)
    assert any(n.startswith("AU4") for n in panel.chart.drawn.names)
    assert [(b.start, b.end) for b in panel.chart.drawn.bars if b.row == "alice (you)" and b.value == 1][0] == (10, 11)
    assert panel.note.isVisible() and panel.note.text() == "your unsaved edits are not in them"


def test_the_desk_keys_open_the_view_and_work_in_it(desk, merged: Workspace):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    d = desk()

    def press(widget, action: str) -> None:  # the action's own key, whichever the desk gives it
        combo = d.qactions[action].shortcut()[0]
        QTest.keyClick(widget, combo.key(), combo.keyboardModifiers())

    press(d, "raters")
    panel = d.raters
    assert panel.isVisible() and VIDEO in panel.heading.text()
    panel.activateWindow()
    assert QTest.qWaitForWindowActive(panel)
    press(panel, "raters_next")  # the desk's keys, in the view's window
    assert d.current == 0 and d.target_range() == (0, 29)
    press(panel, "raters_next")
    assert d.current == 90 and d.target_range() == (90, 119)
    QTest.keyClick(panel, Qt.Key.Key_Right)
    assert d.current == 91
    press(panel, "raters")
    assert not panel.isVisible()


def test_machine_labels_are_shown_as_merge_took_them(desk, labelled: Workspace, write_model):
    write_model(labelled, VIDEO, "expr", {"expr": np.zeros(N, int)}, np.full(N, 0.9))
    merge(labelled, drop_no_face=False)  # machine sources left out, as by default
    d, panel = open_panel(desk, task="expr")
    assert panel.chart.drawn.names == ["alice (you)", "bob", "carol"]
    assert panel.note.text() == ("machine labels of run1 not shown: merge left them out (its machine rule was "
                                 "exclude)")
    merge(labelled, drop_no_face=False, machine="fuse")
    panel.refresh()
    paint(panel)
    assert panel.chart.drawn.names == ["alice (you)", "bob", "carol", "run1 (machine)"]
    assert not panel.note.isVisible()
    assert panel.figures.text().endswith("· 4 annotators")  # merge compared the model too
