"""The annotation scheme comes from the workspace settings: the VA scale and its words, the expression classes
with their colours and keys, the AUs with their FACS names; the desk shows what the settings say."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from affcurate.cli import main as cli_main
from affcurate.errors import InputError
from affcurate.labels.model import read_annotation
from affcurate.workspace import Workspace
from annotator_gui.journal import journal_path
from annotator_gui.window import Desk

VIDEO = "WolfgangLanger_Pexels"
SCREENSHOTS = Path(__file__).parents[2] / "annotator_gui" / "screenshots"


def key(d: Desk, k, times: int = 1) -> None:
    for _ in range(times):
        QTest.keyClick(d, k)


def painted(d: Desk) -> None:
    """Paint the timeline now (what it drew is kept in its ``drawn``)."""
    d.timeline.grab()


def test_the_desk_shows_the_default_scheme_facs_names_colours_keys_and_scale(desk, shots: Path):
    d = desk(task="au")
    items = [d.au.au_list.item(i).text() for i in range(d.au.au_list.count())]
    assert items[:3] == ["AU1 inner brow raiser", "AU2 outer brow raiser", "AU4 brow lowerer"]
    assert items[6] == "AU12 lip corner puller"
    key(d, Qt.Key.Key_Down, 6)
    assert "<b>AU12</b> lip corner puller here" in d.info.text()
    painted(d)
    assert d.timeline.drawn.names[6] == "AU12 lip corner puller"
    legend = {lab.text().split("<b>")[1].split("</b>")[0]: lab.text() for lab in d.tasks["expr"].legend}
    assert list(legend) == [str(k) for k in range(1, 9)]
    assert "#d32f2f" in legend["2"] and "Anger" in legend["2"] and "Other" in legend["8"]
    assert [r.colours for r in d.tasks["expr"].rows(d.session.labels, [], "alice")][0][4] == "#fbc02d"
    key(d, Qt.Key.Key_F4)
    assert [w for _, w in d.pad.anchors()][:3] == ["pleased", "happy", "excited"]
    assert d.pad.edge_numbers() == {"valence_low": "-1", "valence_high": "+1", "arousal_low": "-1",
                                    "arousal_high": "+1", "centre": "0"}
    painted(d)
    assert d.timeline.drawn.scales == [("+1", "0", "-1")]
    d.grab().save(str(shots / "desk-va-scheme.png"))


def test_changing_the_settings_changes_what_the_desk_shows(desk, ws: Workspace, qtbot):
    ws.save_settings(ws.settings.replace("labels", expressions=["Neutral", "Happy", "Sad", "Surprise"])
                     .replace("desk", va_range=[-10, 10], va_anchors=["glad", "aroused", "gloomy", "sleepy"],
                              expression_colours=["#000000", "#ff0000", "#00ff00", "#0000ff"],
                              expression_keys=["q", "W", "e", "Y"], au_names={"AU12": "smile"}, countdown=0))
    d = desk(task="expr")
    assert d.au.au_list.item(6).text() == "AU12 smile" and d.au.au_list.item(0).text() == "AU1"
    legend = [lab.text() for lab in d.tasks["expr"].legend]
    assert len(legend) == 4 and "<b>W</b>&nbsp;Happy" in legend[1] and "#ff0000" in legend[1]
    assert "<b>Q</b>" in legend[0] and "#0000ff" in legend[3]
    # the keys label in EXPR mode: W is Happy; 2 is no class now; in AU mode W means nothing
    key(d, Qt.Key.Key_W)
    key(d, Qt.Key.Key_Right)
    key(d, Qt.Key.Key_2)
    key(d, Qt.Key.Key_Right)
    key(d, Qt.Key.Key_Y)
    assert d.session.labels.expr[:3].tolist() == [1, -1, 3]
    key(d, Qt.Key.Key_F2)
    key(d, Qt.Key.Key_W)
    assert (d.session.labels.au_p == -1).all()
    specs = {sp.name: sp for sp in d.specs}
    assert specs["label_W"].text == "EXPR: Happy" and specs["label_2"].text == "AU: present, intensity 2"
    assert "Happy" in d.help.text() and "Anger" not in d.help.text()
    # the disc: the words and the numbers of the settings; the values it gives stay in [-1, 1]
    key(d, Qt.Key.Key_F4)
    assert d.pad.anchors() == [(0.0, "glad"), (90.0, "aroused"), (180.0, "gloomy"), (270.0, "sleepy")]
    assert d.pad.edge_numbers()["valence_high"] == "+10" and d.pad.edge_numbers()["arousal_low"] == "-10"
    QTest.mouseMove(d.pad, d.pad.to_point(0.5, -0.25).toPoint())
    assert d.pad.readout().startswith("valence +5.0   arousal -2.5")
    painted(d)
    assert d.timeline.drawn.scales == [("+10", "0", "-10")]
    key(d, Qt.Key.Key_R)
    key(d, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: d.current >= 3)
    key(d, Qt.Key.Key_Space)
    assert "V +5.0 A -2.5" in d.info.text()
    d.close()
    va = read_annotation(ws.annotation_path("alice", "va", VIDEO)).data
    assert np.allclose(va["valence"], 0.5, atol=0.02) and np.allclose(va["arousal"], -0.25, atol=0.02)
    assert read_annotation(ws.annotation_path("alice", "expr", VIDEO)).data["expr"].tolist()[0] == 1


def test_left_at_their_defaults_colours_and_keys_follow_the_classes(desk, ws: Workspace):
    ws.save_settings(ws.settings.replace("labels", expressions=["Neutral", "Positive", "Negative"]))
    d = desk(task="expr")
    assert d.scheme.keys == ("1", "2", "3") and d.scheme.colours == ("#9e9e9e", "#d32f2f", "#689f38")
    key(d, Qt.Key.Key_3)
    key(d, Qt.Key.Key_Right)
    key(d, Qt.Key.Key_4)  # no fourth class
    assert d.session.labels.expr[:2].tolist() == [2, -1]


def _annotate_error(ws: Workspace, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        cli_main(["annotate", str(ws.root), "--annotator", "x", "--video", VIDEO])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert not journal_path(ws, "x", VIDEO).parent.exists()  # nothing written
    return " ".join(err.split())


def _line_of(ws: Workspace, text: str) -> int:
    return next(i for i, line in enumerate(ws.settings_path.read_text().splitlines(), 1) if line.startswith(text))


@pytest.mark.parametrize("changes, line, message", [
    ({"expression_colours": ["#000000", "#111111", "#222222"]}, "expression_colours",
     "[desk] expression_colours: 3 colours for the 8 classes of labels.expressions (Neutral, Anger"),
    ({"expression_keys": ["1", "2", "3", "4", "5", "6", "7", "7"]}, "expression_keys",
     "[desk] expression_keys: 7 given to more than one class"),
    ({"va_range": [1, 1]}, "va_range", "[desk] va_range: [1, 1]: expected [low, high] with low < high"),
    ({"expression_keys": ["1", "2", "3", "p", "5", "6", "7", "8"]}, "expression_keys",
     "[desk] expression_keys: P (Fear) is already the desk's key for 'AU present on the range (or frame)'"),
])
def test_a_scheme_that_does_not_fit_is_one_line_naming_the_setting(ws: Workspace, capsys, qapp, changes, line,
                                                                     message):
    ws.save_settings(ws.settings.replace("desk", **changes))
    err = _annotate_error(ws, capsys)
    assert f"{ws.settings_path}:{_line_of(ws, line)}: {message}" in err, err


def test_more_classes_than_digits_need_their_keys(ws: Workspace, capsys, qapp):
    ws.save_settings(ws.settings.replace("labels", expressions=[f"c{k}" for k in range(10)]))
    err = _annotate_error(ws, capsys)
    assert "[desk] expression_keys: labels.expressions has 10 classes, more than the digits 1-9" in err
    with pytest.raises(InputError, match="expression_keys"):
        Desk(ws, "x", video=VIDEO)


def test_the_readme_screenshot_of_the_au_mode(desk, shots: Path, qtbot):
    """AU mode with FACS names, intensities written on the ranges and the legend that explains the shades."""
    d = desk(task="au")
    key(d, Qt.Key.Key_Down, 3)  # AU6 cheek raiser
    for a, b, k in ((30, 110, Qt.Key.Key_2), (140, 230, Qt.Key.Key_4)):
        d.seek(a)
        key(d, Qt.Key.Key_I)
        d.seek(b)
        key(d, Qt.Key.Key_O)
        key(d, k)
    key(d, Qt.Key.Key_Down, 3)  # AU12 lip corner puller
    for a, b, k in ((40, 90, Qt.Key.Key_3), (95, 200, Qt.Key.Key_5), (260, 330, Qt.Key.Key_P)):
        d.seek(a)
        key(d, Qt.Key.Key_I)
        d.seek(b)
        key(d, Qt.Key.Key_O)
        key(d, k)
    key(d, Qt.Key.Key_Escape)
    d.seek(400)
    key(d, Qt.Key.Key_1)  # one frame, intensity 1
    d.seek(150)
    qtbot.wait(50)
    painted(d)
    texts = {(b.row, b.start): b.text for b in d.timeline.drawn.bars}
    assert texts[("AU12", 40)] == "3" and texts[("AU12", 95)] == "5" and texts[("AU6", 140)] == "4"
    assert texts[("AU12", 260)] == "" and texts[("AU12", 400)] == ""  # no intensity; no room for the number
    d.grab().save(str(shots / "desk-au.png"))
    if os.environ.get("AFFCURATE_SCREENSHOTS"):  # retaking the README's screenshot
        d.grab().save(str(SCREENSHOTS / "desk-au.jpg"), "JPG", 85)
