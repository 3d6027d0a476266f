"""The inter-rater view's data for one video and task: each annotator's labels on the 30 fps grid, the agreement
figures the last ``affcurate merge`` computed for the video, and the segments where the annotators disagree.

The labels are the open session's (your own as you edit them, the others' as the desk read them from their
tables); the figures come from merge's ``agreement.parquet`` and the segments from its ``disagreements.parquet``,
both in the workspace's root. When there are no figures, :attr:`Agreement.reason` says why. No Qt here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from affcurate import io
from affcurate.labels.merge import SEGMENT_COLUMNS
from affcurate.workspace import Workspace
from annotator_gui.labels import Labels
from annotator_gui.session import MERGED, Session

AGREEMENT = "agreement.parquet"
DISAGREEMENTS = "disagreements.parquet"
AGREEMENT_COLUMNS = ("video_id", "task", "label", "statistic", "value", "n_annotators")
VA_MIN_SCORE = 0.1
"""VA windows whose raters' standard deviation is below this (a twentieth of the [-1, 1] scale) are the raters'
hands, not a disagreement: without it every second of two real traces would be a segment."""
TASK_WORDS = {"au": "AUs", "expr": "expressions", "va": "valence-arousal"}


@dataclass
class Rater:
    """One annotator's labels of the task on the grid: AU names and ``<AU>_intensity``, ``expr``, ``valence`` and
    ``arousal``, as floats with NaN where not labelled."""

    name: str
    values: dict[str, np.ndarray]
    mine: bool = False
    machine: bool = False

    def labelled(self, column: str) -> bool:
        v = self.values.get(column)
        return v is not None and bool((~np.isnan(v)).any())


@dataclass(frozen=True)
class Segment:
    """Frames ``start``-``end`` (inclusive) where the annotators disagree on ``labels``; ``score`` is merge's
    highest window score in it."""

    start: int
    end: int
    labels: tuple[str, ...]
    score: float


@dataclass
class Agreement:
    """The last merge's figures of one video and task: ``figures[(label, statistic)] = (value, n_annotators)``."""

    figures: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    reason: str = ""
    """Why there are no figures ("" when there are)."""
    stale: str = ""
    """Why the figures may not be those of the labels shown ("" when they are)."""

    @property
    def available(self) -> bool:
        return not self.reason

    def value(self, label: str, statistic: str) -> float | None:
        got = self.figures.get((label, statistic))
        return None if got is None else got[0]

    @property
    def n_annotators(self) -> int:
        return max((n for _, n in self.figures.values()), default=0)


def number(v: float | None) -> str:
    return "—" if v is None or math.isnan(v) else f"{v:.2f}"


def au_figure(agreement: Agreement, au: str) -> str:
    """``α 0.45 · κ 0.40`` of one AU, or "" when merge has none for it."""
    a, k = agreement.value(au, "krippendorff_alpha"), agreement.value(au, "fleiss_kappa")
    if a is None and k is None:
        return ""
    return f"α {number(a)} · κ {number(k)}"


def mean_over(agreement: Agreement, labels: list[str], statistic: str) -> tuple[float, int]:
    """The mean of ``statistic`` over the labels where merge could compute it, and over how many."""
    vals = [v for lb in labels if (v := agreement.value(lb, statistic)) is not None and not math.isnan(v)]
    return (float(np.mean(vals)) if vals else float("nan")), len(vals)


def figures_text(task: str, agreement: Agreement) -> str:
    """The figures in a line: ``α 0.62 · κ 0.58, mean over 4 AUs``, ``α 0.31 · κ 0.29`` (expressions),
    ``CCC valence 0.71, arousal 0.55 · ICC …`` (VA); with the number of annotators merge compared."""
    if not agreement.available:
        return f"agreement not available: {agreement.reason}"
    who = f" · {agreement.n_annotators} annotators"
    if task == "au":
        aus = list(dict.fromkeys(lb for lb, _ in agreement.figures))
        a, n = mean_over(agreement, aus, "krippendorff_alpha")
        k, _ = mean_over(agreement, aus, "fleiss_kappa")
        undefined = f" ({len(aus) - n} more undefined)" if n < len(aus) else ""
        return f"α {number(a)} · κ {number(k)}, mean over {n} AU{'s' if n != 1 else ''}{undefined}{who}"
    if task == "expr":
        return au_figure(agreement, "expr") + who
    parts = []
    for stat, name in (("ccc", "CCC"), ("icc", "ICC"), ("krippendorff_alpha", "α")):
        v, a = agreement.value("valence", stat), agreement.value("arousal", stat)
        if v is not None or a is not None:
            parts.append(f"{name} valence {number(v)}, arousal {number(a)}")
    return " · ".join(parts) + who


def _own_values(labels: Labels, task: str) -> dict[str, np.ndarray]:
    if task == "au":
        out = {}
        for j in labels.touched_aus():
            au = labels.aus[j]
            p = labels.au_p[:, j]
            out[au] = np.where(p < 0, np.nan, p).astype(np.float64)
            out[f"{au}_intensity"] = labels.au_i[:, j].astype(np.float64)
        return out
    if task == "expr":
        return {"expr": np.where(labels.expr < 0, np.nan, labels.expr).astype(np.float64)}
    return {"valence": labels.va[:, 0].astype(np.float64), "arousal": labels.va[:, 1].astype(np.float64)}


def _read(path, video_id: str, task: str, columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The rows of one video and task of one of merge's tables (only those are read)."""
    table = pq.read_table(path, filters=[("video_id", "=", video_id), ("task", "=", task)])
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ValueError(f"it has no column {missing[0]!r} (expected {', '.join(columns)})")
    return table.to_pandas()


class Raters:
    """Everything the inter-rater view shows of one video and task."""

    def __init__(self, ws: Workspace, session: Session, task: str):
        self.ws, self.session, self.task = ws, session, task
        self.video_id, self.n_frames = session.video_id, session.n_frames
        self.machine_rule = self._machine_rule()
        others = [o for o in session.overlays if o.task == task and o.annotator != MERGED]
        people = [o for o in others if not o.machine]
        keep_machine = self.machine_rule == "fuse" or (self.machine_rule == "fallback" and not people)
        self.others = [Rater(o.annotator, {c: np.asarray(v, np.float64) for c, v in o.values.items()},
                             machine=o.machine) for o in sorted(others, key=lambda o: o.annotator)
                       if keep_machine or not o.machine]
        self.left_out = sorted(o.annotator for o in others if o.machine and not keep_machine)
        """Machine sources not shown, as merge left them out."""
        self._theirs = {c for r in self.others for c in r.values if r.labelled(c)}
        """The columns someone else labelled (they do not change while the video is open)."""
        self.segments_error = ""
        """Why the segments could not be read ("" when they could, or merge has not run)."""
        self.agreement = self._agreement()
        self.segments = self._segments()

    # ---- labels -----------------------------------------------------------------------------------------
    def raters(self) -> list[Rater]:
        """Yours first (as edited now, saved or not), then the others' by name."""
        me = Rater(self.session.annotator, _own_values(self.session.labels, self.task), mine=True)
        return [me, *self.others]

    def columns(self) -> list[str]:
        """The values each rater is shown with: the AUs someone labelled (in the workspace's order), ``expr``, or
        valence and arousal."""
        if self.task == "expr":
            return ["expr"]
        if self.task == "va":
            return ["valence", "arousal"]
        labels = self.session.labels
        mine = {labels.aus[j] for j in labels.touched_aus()}
        return [au for au in labels.aus if au in mine or au in self._theirs]

    def _machine_rule(self) -> str:
        """How the last merge took machine sources (``exclude`` when it has not run)."""
        try:
            return str(io.parquet_metadata(self.ws.labels_path).get("machine", "exclude"))
        except (OSError, ValueError, pa.ArrowException):
            return "exclude"

    # ---- agreement ----------------------------------------------------------------------------------------
    def _agreement(self) -> Agreement:
        path = self.ws.root / AGREEMENT
        word = TASK_WORDS[self.task]
        labelled = [r.name for r in self.raters() if any(r.labelled(c) for c in self.columns())]
        if len(labelled) < 2:
            who = f"only {labelled[0]} has labelled" if labelled else "nobody has labelled"
            return Agreement(reason=f"{who} the {word} of {self.video_id}; agreement takes two annotators")
        if not path.exists():
            return Agreement(reason=f"merge has not run on this workspace (affcurate merge {self.ws.root})")
        try:
            df = _read(path, self.video_id, self.task, AGREEMENT_COLUMNS)
        except (OSError, ValueError, pa.ArrowException) as exc:
            return Agreement(reason=f"{path} cannot be read ({exc}); run affcurate merge {self.ws.root} again")
        if df.empty:
            return Agreement(reason=f"the last merge has no figures of the {word} of {self.video_id} "
                                    f"(it ran before they were labelled): run affcurate merge {self.ws.root}")
        figures = {(str(r.label), str(r.statistic)): (float(r.value), int(r.n_annotators)) for r in df.itertuples()}
        return Agreement(figures, stale=self._stale(path))

    def _stale(self, path) -> str:
        """Whose labels changed after the merge that computed the figures."""
        when = path.stat().st_mtime_ns
        later = [r.name for r in self.raters()
                 if (p := self.ws.annotation_path(r.name, self.task, self.video_id)).exists()
                 and p.stat().st_mtime_ns > when]
        parts = []
        if later:
            parts.append(f"{', '.join(later)} saved labels after the last merge")
        if self.session.dirty:
            parts.append("your unsaved edits are not in them")
        return "; ".join(parts)

    # ---- disagreements ------------------------------------------------------------------------------------
    def _segments(self) -> list[Segment]:
        path = self.ws.root / DISAGREEMENTS
        if not path.exists():
            return []
        try:
            df = _read(path, self.video_id, self.task, SEGMENT_COLUMNS)
        except (OSError, ValueError, pa.ArrowException) as exc:
            self.segments_error = f"{path} cannot be read ({exc})"
            return []
        return join_windows(df, VA_MIN_SCORE if self.task == "va" else 0.0)

    def next_segment(self, after_frame: int) -> Segment | None:
        """The first segment that starts after ``after_frame``, or None."""
        return next((s for s in self.segments if s.start > after_frame), None)

    def segment_at(self, frame: int) -> int | None:
        """The index of the segment holding ``frame``, or None."""
        return next((k for k, s in enumerate(self.segments) if s.start <= frame <= s.end), None)

    def disagreement_mask(self) -> np.ndarray:
        """Per frame: inside a segment of disagreement."""
        mask = np.zeros(self.n_frames, bool)
        for s in self.segments:
            mask[s.start:s.end + 1] = True
        return mask


def join_windows(df: pd.DataFrame, min_score: float) -> list[Segment]:
    """Merge's windows of one video and task (any labels) with a score above ``min_score``, windows that touch or
    overlap joined into one segment, by start."""
    df = df[(df["score"] > 0) & (df["score"] >= min_score)].sort_values(["start", "label"], kind="stable")
    out: list[Segment] = []
    for r in df.itertuples():
        start, end, label, score = int(r.start), int(r.end), str(r.label), float(r.score)
        if out and start <= out[-1].end + 1:
            last = out[-1]
            labels = last.labels + ((label,) if label not in last.labels else ())
            out[-1] = Segment(last.start, max(last.end, end), labels, max(last.score, score))
        else:
            out.append(Segment(start, end, (label,), score))
    return out
