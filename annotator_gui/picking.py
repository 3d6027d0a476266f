"""The faces on screen: the subject's box and the other tracks' faces of the open video, and making another
track the subject by clicking its face (the desk's ``affcurate faces pick``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from affcurate.errors import AffcurateError
from annotator_gui.view import subject_faces

if TYPE_CHECKING:
    from annotator_gui.window import Desk


def load_faces(desk: Desk) -> str:
    """Read the open video's faces into the desk (boxes, other tracks, no-face frames on the timeline); returns
    why there are none when its faces table cannot be read."""
    desk.boxes, no_face, error, desk.other_faces = subject_faces(desk.ws, desk.video_id, desk.n_frames)
    desk.timeline.set_video(desk.n_frames, desk.fps, no_face)
    return error


def pick_track(desk: Desk, track: int) -> None:
    """Make another track the subject of the open video: its faces table and crops are redone."""
    from affcurate.faces.stage import pick

    try:
        out = pick(desk.ws, desk.video_id, track)
    except AffcurateError as exc:  # e.g. another command is writing the workspace
        desk.statusBar().showMessage(f"cannot pick track {track}: {exc}")
        return
    load_faces(desk)
    desk._rows()
    desk.show_frame(desk.current)
    desk.statusBar().showMessage(f"track {track} is now the subject of {desk.video_id} "
                                 f"({out['target_frames']} of {out['n_frames']} frames)")
