"""A later stage fed by the transcode: it takes each frame as the media stage encodes it (one decoding pass for
both), and whatever it does wrong stays its own outcome, never the transcode's."""

from __future__ import annotations

from typing import Any, Protocol

from affcurate.executor import one_line
from affcurate.workspace import Workspace


class LaterStage(Protocol):
    """A later stage's side of one video that takes its frames as the media stage encodes them."""

    def open(self, ws: Workspace, transcode_key: str, width: int, height: int) -> Any:
        """An object with ``push(i, rgb)``, ``finish() -> dict`` and ``abort()``; None when there is nothing
        to do for this video."""

    def alone(self, ws: Workspace) -> dict[str, Any]:
        """Do this video's work from its file (it was transcoded before)."""


class Fed:
    """A later stage fed by the transcode, kept from failing it: the stage's error stays its own."""

    def __init__(self, stage: LaterStage, ws: Workspace, *opening: Any) -> None:
        self.stage, self.ws, self.error, self.feed = stage, ws, None, None
        if opening:
            try:
                self.feed = stage.open(ws, *opening)
            except Exception as exc:  # noqa: BLE001 - reported as the later stage's outcome
                self.error = one_line(exc)

    def push(self, idx: int, rgb: Any) -> None:
        if self.feed is None:
            return
        try:
            self.feed.push(idx, rgb)
        except Exception as exc:  # noqa: BLE001 - reported as the later stage's outcome
            self.error = one_line(exc)
            self.abort()

    def abort(self) -> None:
        if self.feed is not None:
            self.feed.abort()
            self.feed = None

    def outcome(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        try:
            return {"value": self.feed.finish() if self.feed is not None else self.stage.alone(self.ws)}
        except Exception as exc:  # noqa: BLE001 - reported as the later stage's outcome
            return {"error": one_line(exc)}
