"""The desk's widgets and where they sit: the video list, the video with its info bar and timeline, the mode's
panel; the help over all of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from annotator_gui.keys import HelpOverlay, desk_actions, install
from annotator_gui.picking import pick_track
from annotator_gui.raters_view import RatersPanel
from annotator_gui.sound import DeskSound
from annotator_gui.timeline import Timeline
from annotator_gui.video_list import VideoList
from annotator_gui.view import VideoView
from annotator_gui.waveform import Waveform

if TYPE_CHECKING:
    from annotator_gui.window import Desk


def build(desk: Desk) -> None:
    """Give ``desk`` its widgets (``video_list``, ``view``, ``timeline``, ``waveform``, ``info``, ``jump``,
    ``panels``, ``help``, the inter-rater view ``raters``), its ``sound`` and its actions (``specs``,
    ``qactions``)."""
    desk.video_list = VideoList(desk.open_video)
    desk.view = VideoView()
    desk.view.picked.connect(lambda track: pick_track(desk, track))
    desk.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    desk.timeline = Timeline()
    desk.timeline.seek.connect(desk.seek)
    desk.timeline.marked.connect(desk._timeline_marked)
    desk.waveform = Waveform(desk.timeline)
    desk.waveform.seek.connect(desk.seek)
    desk.sound = DeskSound(desk.statusBar().showMessage, desk.waveform,
                           lambda: (desk.current, desk.playback.speed, desk.playing))
    desk.info = QLabel()
    desk.info.setTextFormat(Qt.TextFormat.RichText)
    desk.jump = QLineEdit()
    desk.jump.setPlaceholderText("frame (Ctrl+G)")
    desk.jump.setMaximumWidth(130)
    desk.jump.setValidator(QIntValidator(0, 10**9))
    desk.jump.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    desk.jump.returnPressed.connect(desk._jump_entered)
    bar = QHBoxLayout()
    bar.addWidget(desk.info, 1)
    bar.addWidget(QLabel("go to"))
    bar.addWidget(desk.jump)
    centre = QWidget()
    lay = QVBoxLayout(centre)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addWidget(desk.view, 1)
    lay.addLayout(bar)
    lay.addWidget(desk.timeline)
    lay.addWidget(desk.waveform)
    desk.panels = QStackedWidget()
    for t in desk.tasks.values():
        desk.panels.addWidget(t.panel)
    desk.panels.setMinimumWidth(390)
    desk.panels.setMaximumWidth(460)
    split = QSplitter()
    split.addWidget(desk.video_list)
    split.addWidget(centre)
    split.addWidget(desk.panels)
    split.setStretchFactor(1, 1)
    desk.setCentralWidget(split)
    desk.raters = RatersPanel(desk)
    desk.specs = desk_actions(desk)
    desk.qactions = install(desk, desk.specs)
    desk.help = HelpOverlay(desk, split, desk.specs)

