"""`affcurate merge`: every annotation onto the 30 fps grid, fused across annotators, with agreement, the
face mask and provenance → ``labels.parquet`` and ``agreement.parquet``.

A fused value on a frame comes only from the sources that gave one there (see :mod:`affcurate.labels.resample`).
An AU intensity left empty where its source says the AU is absent is that source's intensity 0 (the desk leaves
it empty, affcurate CSV writes 0: the same statement); a source that gives no intensity for an AU at all, or
says present without one, has no say in that frame's intensity.

The work is columnar (:mod:`affcurate.labels.engine`): the videos are merged in batches, each batch's tables of
a task read in one Polars scan (:mod:`~affcurate.labels.scan`), put on the grids at once
(:mod:`~affcurate.labels.regrid`) and fused and scored for all its videos at once
(:mod:`~affcurate.labels.combine`, :mod:`~affcurate.labels.classes`), filtered and counted; batches run on one
thread per core, and each leaves its thread as rows of labels.parquet (:mod:`~affcurate.labels.layout`), written
while the next ones are merged. The tables are those a video-by-video merge writes
(``tests/labels/test_merge_columnar.py`` holds them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from affcurate import io
from affcurate.errors import AffcurateError, StageMissingError
from affcurate.executor import ExecutorSpec, Progress, Tasks, current_progress, map_items
from affcurate.labels.combine import label_order
from affcurate.labels.engine import Plan, Video, merge_batches, merge_run
from affcurate.labels.filters import MACHINE, keep_steps, machine_rule
from affcurate.labels.layout import TEXT, Layout, TextWriter, as_read, dictionary, read_schema, stored_schema
from affcurate.labels.model import list_annotations
from affcurate.labels.scan import read_meta
from affcurate.labels.table import LabelTable
from affcurate.lock import writes_workspace
from affcurate.settings import LabelsSettings
from affcurate.workspace import Workspace

KEEP = ("all", "au-positive", "labelled")


@dataclass
class MergeResult:
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    length_fixes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    disagreements: pd.DataFrame | None = None
    lags: list[dict[str, Any]] = field(default_factory=list)
    """Per video and VA rater: the reaction lag compensated (``frames``), with ``labels.va_lag_max`` set."""
    filters: list[dict[str, Any]] = field(default_factory=list)
    """The frames after each step: on the grid, with the subject's face, kept by ``keep``, after subsampling."""
    video_counts: list[dict[str, Any]] = field(default_factory=list)
    """Per video, its frames before and along the filters (:func:`affcurate.labels.counts.video_counts`)."""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """Per video and source: ``video_id``, ``task``, ``annotator``, ``outside`` (rows past the video's end
    beyond the tolerance, left out) and ``message`` (one line to show)."""
    frames: int = 0
    """Frames written to labels.parquet."""
    rows: tuple[Layout, list[Any]] | None = field(default=None, repr=False)
    """What :attr:`labels` is made of: the written batches and their layout."""

    @cached_property
    def labels(self) -> pd.DataFrame:
        """labels.parquet's rows as the pandas frame its readers get (made on first use)."""
        if self.rows is None:
            return pd.DataFrame(columns=["video_id", "frame"])
        layout, batches = self.rows
        return layout.frame(batches)

    @property
    def videos(self) -> int:
        """Videos with frames in labels.parquet."""
        return sum(1 for c in self.video_counts if c["kept"])


def auto_spec(n_videos: int) -> ExecutorSpec:
    """One process: the merge is vectorised over all videos and its reading uses every core already."""
    return ExecutorSpec("local", 1)


def _merge_item(item: dict[str, Any]) -> dict[str, Any]:
    """Merge one run of videos (in this process or a worker)."""
    return merge_run(Workspace(Path(item["ws_root"])), item["videos"], item["plan"])


def _videos(ws: Workspace, ok: pd.DataFrame, listing: pd.DataFrame, machine: str) -> list[Video]:
    """The videos to merge, in the listing's order, each with the tables the machine rule lets in."""
    def column(name: str) -> list[Any]:
        values = ok[name] if name in ok.columns else pd.Series(None, index=ok.index, dtype=object)
        return [None if pd.isna(x) else x for x in values.tolist()]

    facts = dict(zip(ok.index, zip(column("avg_fps"), column("n_frames"), column("duration"), strict=True),
                     strict=True))
    tables: dict[str, list[Any]] = {}
    for vid, path in zip(listing["video_id"].tolist(), listing["path"].tolist(), strict=True):
        tables.setdefault(vid, []).append(read_meta(path))
    out = []
    for vid, metas in tables.items():
        kept = machine_rule(metas, machine)
        if kept:
            fps, frames, duration = facts[vid]
            out.append(Video(vid, None if fps is None else float(fps), frames, duration, kept))
    return out


def _runs(videos: list[Video], jobs: int) -> list[list[Video]]:
    """``jobs`` runs of consecutive videos with about as many frames each."""
    if jobs <= 1 or len(videos) <= 1:
        return [videos]
    sizes = np.cumsum([float(v.src_frames or 1) for v in videos])
    cut = np.searchsorted(sizes, sizes[-1] * np.arange(1, jobs) / jobs)
    bounds = [0, *sorted(set(int(c) + 1 for c in cut if 0 <= c < len(videos) - 1)), len(videos)]
    return [videos[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@writes_workspace("affcurate merge")
def merge(ws: Workspace, keep: str = "all", drop_no_face: bool | None = None, disagreements: int = 0,
          progress: Progress | Any | None = None, spec: ExecutorSpec | str = ExecutorSpec(),
          machine: str = "exclude") -> MergeResult:
    """Merge every annotation of the workspace into ``labels.parquet`` (and ``agreement.parquet``).

    ``keep``: ``all`` frames, only ``labelled`` ones, or only ``au-positive`` ones (seed 001).
    Frames without the subject's face are left out unless ``drop_no_face`` is False (default: the setting).
    ``disagreements``: also list the N segments where annotators disagree most.
    ``progress``: a callback ``progress(what, done, total)`` told of each merged video (default: the one of
    :func:`affcurate.executor.reporting`, else nothing is shown); an object with rich's ``add_task``/``advance``
    still works.
    ``machine``: machine sources (OpenFace, py-feat, ``affcurate predict``) are left out (``exclude``, the
    default: never fused with people unless asked), used only for the tasks of a video no person labelled
    (``fallback``), or fused with the people's (``fuse``).
    ``spec``: where the work runs: this process by default (and for ``"auto"``: the merge is vectorised and
    threaded, a pool only adds the cost of sending the columns back); a local pool or Ray splits the videos into
    one run per job (a script that asks for a pool needs the ``if __name__ == "__main__":`` guard)."""
    if keep not in KEEP:
        raise AffcurateError(f"unknown keep {keep!r}: expected one of {', '.join(KEEP)}")
    if machine not in MACHINE:
        raise AffcurateError(f"unknown machine rule {machine!r}: expected one of {', '.join(MACHINE)}")
    s = ws.settings.labels
    drop = s.drop_no_face if drop_no_face is None else drop_no_face
    manifest = ws.manifest()
    ok = manifest[manifest["status"] == "ok"].set_index("video_id", drop=False)
    listing = list_annotations(ws)
    if listing.empty:
        raise StageMissingError("annotations", f"affcurate import {ws.root} --format F FILES (or affcurate annotate)")
    result = MergeResult()
    result.unmatched = sorted(set(listing["video_id"]) - set(ok.index))
    videos = _videos(ws, ok, listing[listing["video_id"].isin(ok.index)], machine)
    if spec == "auto":
        spec = auto_spec(len(videos))
    tasks = progress if hasattr(progress, "add_task") else Tasks(progress or current_progress())
    bar = tasks.add_task("merge", total=len(videos))

    def record() -> dict[str, Any]:
        return {"settings": s.__dict__, "keep": keep, "drop_no_face": drop, "machine": machine,
                "length_fixes": result.length_fixes, "errors": result.errors, "warnings": result.warnings,
                "lags": result.lags, "filters": result.filters, "video_counts": result.video_counts}

    stats: list[dict[str, Any]] = []
    dis_rows: list[dict[str, Any]] = []
    steps: list[list[int]] = []  # per batch, its frames after each filter
    if videos:
        plan = Plan(Layout.of([v.tasks for v in videos], s.aus), keep, drop, Plan.ranks(videos))
        with io.atomic_path(ws.labels_path, suffix=".parquet") as tmp:
            writer = TextWriter(tmp, plan.layout.schema, ("video_id", "frame"))
            try:
                for n_videos, value in _outcomes(ws, videos, plan, spec):
                    _take(result, value, writer, plan.layout, stats, dis_rows, steps)
                    tasks.advance(bar, n_videos)
                _check(ws, result)
                _count_steps(result, s, plan, steps)
                writer.close(record())
            except BaseException:
                writer.abort()
                raise
    else:
        LabelTable(result.labels, tuple(s.aus), len(s.expressions), record()).write(ws)
    result.agreement = pd.DataFrame(stats, columns=["video_id", "task", "label", "statistic", "value",
                                                    "n_annotators"])
    segments = _disagreements(dis_rows, videos, s)
    if disagreements and len(segments):
        result.disagreements = as_read(segments.slice(0, disagreements), SEGMENTS)
    io.write_parquet(result.agreement, ws.root / "agreement.parquet")
    with io.atomic_path(ws.root / "disagreements.parquet", suffix=".parquet") as tmp:
        out = TextWriter(tmp, SEGMENTS, ("video_id", "task", "label"))
        out.write(segments)
        out.close()
    return result


def _disagreements(parts: list[dict[str, Any]], videos: list[Video], s: LabelsSettings) -> pa.Table:
    """The batches' windows with any disagreement (each batch's in their order), most disagreed first (then by
    video, start and label), as :data:`SEGMENTS` stores them."""
    if not parts:
        return SEGMENTS.empty_table().cast(stored_schema(SEGMENTS))
    number = {v.video_id: i for i, v in enumerate(videos)}
    video = np.concatenate([np.array([number[v] for v in p["videos"]], np.int64)[p["video"]] for p in parts])
    seg = {k: np.concatenate([p[k] for p in parts]) for k in ("key", "start", "end", "score")}
    ranks = [(min(p["rank"]), max(p["rank"])) for p in parts]
    if all(a[1] < b[0] for a, b in zip(ranks[:-1], ranks[1:], strict=True)):
        # each batch's videos come before the next one's by name: of equal scores, the earlier batch's first
        order = np.argsort(-seg["score"], kind="stable")
    else:
        order = np.lexsort((seg["key"], np.concatenate([p["after"] for p in parts]), -seg["score"]))
    labels = label_order(s.aus)
    key = seg["key"][order]
    return pa.table([dictionary(video[order], [v.video_id for v in videos]), dictionary(key, [t for t, _ in labels]),
                     dictionary(key, [c for _, c in labels]), seg["start"][order].astype(np.int64),
                     seg["end"][order].astype(np.int64), seg["score"][order].astype(np.float64)],
                    schema=stored_schema(SEGMENTS))


def _take(result: MergeResult, value: dict[str, Any], writer: TextWriter, layout: Layout,
          stats: list[dict[str, Any]], segments: list[dict[str, Any]], steps: list[list[int]]) -> None:
    """What a batch or run gave: its rows written (none after the first error: nothing will be kept), its
    records kept."""
    for key in ("errors", "length_fixes", "warnings", "lags"):
        getattr(result, key).extend(value[key])
    if result.errors:
        return
    if result.rows is None:
        result.rows = (layout, [])
    for part in value["parts"]:
        writer.write(part["batch"])
        result.rows[1].append(part["batch"])
        result.video_counts += part["counts"]
        steps.append(part["steps"])
        result.frames += len(part["batch"])
    stats += value["stats"]
    segments += value["segments"]  # every segment is kept (disagreements.parquet: the desk's review queue)


def _check(ws: Workspace, result: MergeResult) -> None:
    if result.errors:  # nothing is written: the labels of the last good merge stay as they were
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        kept = f"{ws.labels_path.name} is left as it was" if ws.labels_path.exists() else "nothing was written"
        raise AffcurateError(f"{result.errors[0]}{more}; {kept}")


def _count_steps(result: MergeResult, s: LabelsSettings, plan: Plan, steps: list[list[int]]) -> None:
    """The batches' frames after each filter, summed into merge's record of its steps (none without frames)."""
    total = np.sum(steps, axis=0) if steps else np.zeros(1, np.int64)
    names = keep_steps(s, plan.keep, plan.drop, [a for a in s.aus if a in plan.layout.columns])
    result.filters = [{"step": n, "frames": int(f)} for n, f in zip(names, total, strict=True)] if total[0] else []


def _outcomes(ws: Workspace, videos: list[Video], plan: Plan, spec: ExecutorSpec
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(videos, what they gave) in the listing's order: batch by batch in this process, or run by run from a
    pool or Ray (one run per job), each as soon as it and those before it are done."""
    if spec.kind == "local" and spec.jobs <= 1:
        yield from merge_batches(ws, videos, plan)
        return
    runs = _runs(videos, spec.jobs if spec.kind == "local" else max(spec.jobs, 2))
    items = [{"ws_root": str(ws.root), "videos": run, "index": i, "plan": plan} for i, run in enumerate(runs)]
    done: dict[int, dict[str, Any]] = {}
    ahead = 0
    for res in map_items(_merge_item, items, spec, "merge", Tasks()):
        if res.error:
            raise AffcurateError(res.error)
        done[res.item["index"]] = res.value
        while ahead in done:
            yield len(runs[ahead]), done.pop(ahead)
            ahead += 1


SEGMENTS = read_schema({"video_id": TEXT, "task": TEXT, "label": TEXT, "start": np.int64, "end": np.int64,
                        "score": np.float64})
SEGMENT_COLUMNS = SEGMENTS.names
"""disagreements.parquet: windows of a second where annotators disagree (score: 1 − the agreeing share for AUs
and expressions, the raters' standard deviation for VA), most disagreed first."""

