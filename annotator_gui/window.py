"""The annotation desk: one window for AUs, expressions and continuous valence-arousal, keyboard first.

The window holds the video, the timeline and the open session, and passes each key to the current mode's task
(``tasks``); playback is in ``playback``, every labelling rule in the Qt-free ``edits`` and ``session``.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow

from affcurate.errors import AffcurateError
from affcurate.workspace import Workspace
from annotator_gui import layout
from annotator_gui.edits import Edit, Marks
from annotator_gui.joystick import Joystick
from annotator_gui.picking import load_faces
from annotator_gui.playback import Playback
from annotator_gui.queue import Queue
from annotator_gui.review import Review
from annotator_gui.scheme import Scheme
from annotator_gui.session import Session, progress_of
from annotator_gui.tasks import AuTask, ExprTask, Task, VaTask
from annotator_gui.transport import Transport
from annotator_gui.video import FrameSource


class Desk(QMainWindow):
    def __init__(self, ws: Workspace, annotator: str, video: str | None = None, task: str = "au",
                 joystick: str | None = "auto", queue: Queue | None = None):
        super().__init__()
        if queue is not None:  # a review queue opens on its first item not reviewed yet
            first = queue.items[queue.resume()]
            video, task = first.video_id, first.task
        self.ws = ws
        self.annotator = annotator
        self.fps = float(ws.settings.ingest.fps)
        self.scheme = Scheme.of(ws)
        self.aus, self.expressions = self.scheme.aus, self.scheme.expressions
        self.videos = ws.video_ids()
        if not self.videos:
            raise AffcurateError(f"{ws.root}: no ingested video to annotate; run affcurate ingest first")
        if video is not None and video not in self.videos:
            raise AffcurateError(f"{video}: no such ingested video in {ws.root} "
                                 f"(videos: {', '.join(self.videos[:5])}{', …' if len(self.videos) > 5 else ''})")
        self.session: Session | None = None
        self.source: FrameSource | None = None
        self.video_id: str | None = None
        self.boxes: dict[int, tuple[float, float, float, float]] = {}
        self.other_faces: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
        self.current = 0
        self.marks = Marks()
        self.show_overlays = True
        self.review: Review | None = None
        self.au = AuTask(self.scheme, self.select_au)
        self.va = VaTask(self.scheme, Joystick.open(joystick))
        self.tasks: dict[str, Task] = {t.name: t for t in (self.au, ExprTask(self.scheme), self.va)}
        self.task: Task = self.tasks[task]
        self.pad = self.va.pad
        self.transport = Transport(self)
        self._build()
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(500)
        self._sync_timer.timeout.connect(self._sync)
        self._sync_timer.start()
        self.resize(1400, 860)
        self.open_video(video or self.videos[0])
        self.set_mode(task)
        if queue is not None:
            self.review = Review(self, queue)
            self.review.go(self.review.index)
        self.view.setFocus()

    def _build(self) -> None:
        layout.build(self)
        self.statusBar().showMessage("F1 shows every key")
        self.video_list.fill(self.videos, progress_of(self.ws, self.annotator))

    # ---- state ----------------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return self.session.n_frames if self.session else 1

    @property
    def playing(self) -> bool:
        return self.transport.playing

    @property
    def playback(self) -> Playback:
        return self.transport.playback

    @property
    def va_samples(self) -> list[tuple[float, int]]:
        """(seconds since playback started, frame) of every VA sample of the current pass."""
        return self.va.samples

    # ---- videos ---------------------------------------------------------------------------------------
    def _show_current_in_list(self) -> None:
        self.video_list.show_current(self.video_id, self.session.labels.progress() if self.session else None)

    def open_video(self, vid: str) -> None:
        if vid == self.video_id:
            return
        self.pause()
        if self.session is not None:
            self.save()
        try:
            session = Session(self.ws, vid, self.annotator)
            try:
                source = FrameSource(self.ws.video_path(vid), self.fps)
            except AffcurateError:
                session.close()
                raise
        except AffcurateError as exc:
            if self.session is None:
                raise  # nothing open yet: the command reports it
            self.statusBar().showMessage(f"cannot open {vid}: {exc}")
            self._show_current_in_list()
            return
        if self.session is not None:
            self.session.close()
        if self.source is not None:
            self.source.close()
        self.video_id, self.session, self.source = vid, session, source
        faces_error = load_faces(self)
        self.sound.open_video(self.ws.video_path(vid), self.fps, self.n_frames)
        self.marks.clear()
        self.va.new_video()
        self.current = 0
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {vid}")
        if faces_error:
            self.statusBar().showMessage(f"no face box on {vid}: {faces_error}")
        if self.session.recovered:
            n = self.session.recovered
            self.session.save()
            self.statusBar().showMessage(f"recovered {n} edits of {vid} that had not been saved, and saved them")
        self._rows()
        self.au.show_counts(self.session.labels)
        self.show_frame(0)
        self.transport.show()
        self._show_current_in_list()

    def other_video(self, step: int) -> None:
        i = self.videos.index(self.video_id) + step
        if 0 <= i < len(self.videos):
            self.open_video(self.videos[i])

    # ---- showing --------------------------------------------------------------------------------------
    def show_frame(self, f: int) -> None:
        f = int(min(max(f, 0), self.n_frames - 1))
        self.current = f
        img = self.source.frame(f)
        t = f / self.fps
        caption = f"frame {f} / {self.n_frames - 1}   {int(t // 60)}:{t % 60:06.3f}"
        self.view.set_frame(f, img, self.boxes.get(f), caption, self.other_faces.get(f))
        self.timeline.set_current(f)
        self._info()

    def _info(self) -> None:
        parts = [self.transport.state(), f"<b>{self.task.title}</b>", f"speed {self.playback.speed:g}×"]
        self.sound.show(self.playback.speed)
        parts += self.task.status(self.session.labels, self.current)
        if self.marks.marked:
            a, b = self.target_range()
            parts.append(f"marked {a}–{b} ({b - a + 1} frames)")
        if self.session.dirty:
            parts.append("<i>unsaved</i>")
        self.info.setText(" · ".join(parts))

    def _rows(self) -> None:
        labels, task = self.session.labels, self.task
        overlays = self.session.overlays if self.show_overlays else []
        self.timeline.coverage = lambda: task.coverage(labels)
        self.timeline.set_rows(task.rows(labels, overlays, self.annotator))

    def set_mode(self, mode: str) -> None:
        self.task = self.tasks[mode]
        self.panels.setCurrentWidget(self.task.panel)
        self._rows()
        self._info()

    # ---- navigation and playback ----------------------------------------------------------------------
    def seek(self, f: int) -> None:
        if self.playing:
            self.transport.restart(f)
        self.show_frame(f)

    def step(self, d: int) -> None:
        self.seek(self.current + d)

    def focus_jump(self) -> None:
        self.jump.setFocus()
        self.jump.selectAll()

    def _jump_entered(self) -> None:
        if self.jump.text():
            self.seek(int(self.jump.text()))
        self.jump.clear()
        self.view.setFocus()

    def toggle_play(self) -> None:
        self.transport.toggle_play()

    def play(self) -> None:
        self.transport.play()

    def pause(self) -> None:
        self.transport.pause()

    def play_range(self) -> None:
        self.transport.play_range()

    # ---- marks ----------------------------------------------------------------------------------------
    def set_mark_in(self) -> None:
        self.marks.set_in(self.current)
        self._show_mark()

    def set_mark_out(self) -> None:
        self.marks.set_out(self.current)
        self._show_mark()

    def clear_mark(self) -> None:
        self.marks.clear()
        self._show_mark()

    def _timeline_marked(self, a: int, b: int) -> None:
        self.marks.mark_in, self.marks.mark_out = a, b
        self._show_mark()

    def _show_mark(self) -> None:
        self.timeline.mark = self.target_range() if self.marks.marked else None
        self.timeline.update()
        self._info()

    def target_range(self) -> tuple[int, int]:
        """The marked range (in to out, inclusive; an open end is the current frame), or the current frame."""
        return self.marks.target(self.current)

    # ---- editing --------------------------------------------------------------------------------------
    def _edit(self, op: Edit | None) -> None:
        if op is not None:
            self.session.edit(op)
            self._after_edit()

    def _after_edit(self) -> None:
        self._rows()
        self._info()
        self.au.show_counts(self.session.labels)
        self.video_list.show_progress(self.video_id, self.session.labels.progress())
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {self.video_id} *")

    def select_au(self, j: int) -> None:
        self.au.choose(j)
        if self.task is self.au:
            self._rows()
            self._info()

    def au_present(self) -> None:
        if self.task is self.au:
            self._edit(self.au.present(*self.target_range()))

    def au_toggle(self) -> None:
        if self.task is self.au:
            self._edit(self.au.toggle(self.session.labels, *self.target_range()))

    def label_key(self, key: str) -> None:
        self._edit(self.task.label_key(key, *self.target_range()))

    def clear_labels(self) -> None:
        self._edit(self.task.clear(*self.target_range()))

    def accept_machine(self) -> None:
        """Copy the first machine annotation of this mode onto the range (or the whole video), as own labels."""
        a, b = self.target_range() if self.marks.marked else (0, self.n_frames - 1)
        o = self.task.accept(self.session, a, b)
        if o is None:
            self.statusBar().showMessage(f"no machine labels for {self.task.title} on this video")
            return
        self._after_edit()
        self.statusBar().showMessage(f"accepted {o.annotator}'s labels on frames {a}-{b}")

    # ---- valence-arousal ------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        self.transport.toggle_record()

    def cycle_pad_mode(self) -> None:
        self.va.cycle_pad_mode()
        self._info()

    # ---- review queue -------------------------------------------------------------------------------
    def next_item(self) -> None:
        if self.review is None:
            self.statusBar().showMessage("no queue open: affcurate annotate WS --queue disagreements|uncertain")
        else:
            self.review.next()

    def previous_item(self) -> None:
        if self.review is not None:
            self.review.previous()

    # ---- undo, save, view -----------------------------------------------------------------------------
    def undo(self) -> None:
        if self.session.undo():
            self._after_edit()

    def redo(self) -> None:
        if self.session.redo():
            self._after_edit()

    def save(self) -> None:
        if self.session is None or not self.session.dirty:
            return
        try:
            paths = self.session.save()
        except OSError as exc:
            self.statusBar().showMessage(f"could not save ({exc.strerror}): your edits are safe in the journal "
                                         f"{self.session.journal.path}")
            return
        self.setWindowTitle(f"affcurate desk — {self.annotator} — {self.video_id}")
        n = len(paths)
        self.statusBar().showMessage(f"saved {n} table{'s' if n != 1 else ''} of {self.video_id}")
        self._show_current_in_list()
        self._info()

    def _sync(self) -> None:
        if self.session is not None:
            self.session.journal.sync()

    def toggle_box(self) -> None:
        self.view.show_box = not self.view.show_box
        self.view.update()

    def toggle_overlays(self) -> None:
        self.show_overlays = not self.show_overlays
        self._rows()

    def closeEvent(self, e) -> None:  # noqa: N802
        self.pause()
        if self.session is not None:
            self.save()
            self.session.close()
        if self.source is not None:
            self.source.close()
        self.view.release()
        self.va.close()
        self.sound.close()
        super().closeEvent(e)
