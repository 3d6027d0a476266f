"""`affcurate merge`: every annotation onto the 30 fps grid, fused across annotators, with agreement, the
face mask and provenance → ``labels.parquet`` and ``agreement.parquet``.

A fused value on a frame comes only from the sources that gave one there (see :mod:`affcurate.labels.resample`).
An AU intensity left empty where its source says the AU is absent is that source's intensity 0 (the desk leaves
it empty, affcurate CSV writes 0: the same statement); a source that gives no intensity for an AU at all, or
says present without one, has no say in that frame's intensity.

The work is columnar (:mod:`affcurate.labels.engine`): the videos are merged in batches, each batch's tables of
a task read in one Polars scan (:mod:`~affcurate.labels.scan`), put on the grids at once
(:mod:`~affcurate.labels.regrid`) and fused and scored for all its videos at once
(:mod:`~affcurate.labels.combine`, :mod:`~affcurate.labels.classes`); batches run on one thread per core. The
tables are those a video-by-video merge writes (``tests/labels/test_merge_columnar.py`` holds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, StageMissingError
from affcurate.executor import ExecutorSpec, Progress, Tasks, current_progress, map_items
from affcurate.labels.counts import video_counts
from affcurate.labels.engine import Video, merge_run, task_output
from affcurate.labels.filters import MACHINE, keep_frames, machine_rule
from affcurate.labels.model import list_annotations
from affcurate.labels.scan import read_meta
from affcurate.labels.table import LabelTable, nullable_int8
from affcurate.lock import writes_workspace
from affcurate.settings import LabelsSettings
from affcurate.workspace import Workspace

KEEP = ("all", "au-positive", "labelled")


@dataclass
class MergeResult:
    labels: pd.DataFrame
    agreement: pd.DataFrame
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


def _columns_to_frame(parts: list[dict[str, Any]], s: LabelsSettings) -> pd.DataFrame:
    """One table from the runs' columns: concatenated column by column, missing ones filled, typed as the
    video-by-video merge typed them (a column of a task some video lacks is float64, else float32)."""
    tasks = [t for p in parts for t in p["tasks"]]
    names: dict[str, None] = {}
    for i, ts in enumerate(tasks):
        for t in ts:
            names.update(dict.fromkeys(task_output(t, s.aus)))
        if i == 0:
            names.update(dict.fromkeys(["has_face", "sources"]))
    missing = {t: any(t not in ts for ts in tasks) for t in ("au", "expr", "va")}
    owner = {c: t for t in missing for c in task_output(t, s.aus)}
    vids = [v for p in parts for v in p["video_ids"]]
    sizes = np.concatenate([p["sizes"] for p in parts])
    data: dict[str, Any] = {"video_id": _texts(np.repeat(np.arange(len(vids), dtype=np.int32), sizes), vids)}
    texts: list[str] = []
    sources = []
    for p in parts:  # each run's numbers of its texts, made numbers of all runs' texts
        sources.append(p["columns"].pop("sources") + len(texts))
        texts += p["sources"]
    for name in ["frame", *names]:
        chunks = []
        if name == "sources":
            data[name] = _texts(np.concatenate(sources), texts)
            continue
        for p in parts:
            if name in p["columns"]:
                chunks.append(p["columns"].pop(name))  # freed as the table is built
            elif name.endswith("_n"):
                chunks.append(np.zeros(int(p["sizes"].sum()), np.int16))
            else:
                chunks.append(np.full(int(p["sizes"].sum()), np.nan, np.float32))
        col = np.concatenate(chunks)
        if name in s.aus or name == "expr":
            col = nullable_int8(col.astype(np.float64))
        elif name.endswith("_intensity") or name in ("valence", "arousal"):
            col = col.astype(np.float32)
        elif name.endswith("_n"):
            col = col.astype(np.int16)  # any number of annotators
        elif name in owner and missing[owner[name]]:
            col = col.astype(np.float64)  # float32 values beside the NaN of the videos without the task
        data[name] = col
    return pd.DataFrame(data)


def _texts(codes: np.ndarray, texts: list[str]) -> Any:
    """A text column from each row's number in ``texts``, built by Arrow (not one Python string per row), of
    the type pandas gives texts."""
    dtype = pd.Series(["x"]).dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return np.asarray(texts, dtype=object)[codes]
    import pyarrow as pa

    column = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(texts, pa.large_string()))
    return pd.array(column.dictionary_decode(), dtype=dtype)


def auto_spec(n_videos: int) -> ExecutorSpec:
    """One process: the merge is vectorised over all videos and its reading uses every core already."""
    return ExecutorSpec("local", 1)


def _merge_item(item: dict[str, Any]) -> dict[str, Any]:
    """Merge one run of videos (in this process or a worker)."""
    return merge_run(Workspace(Path(item["ws_root"])), item["videos"])


def _videos(ws: Workspace, ok: pd.DataFrame, listing: pd.DataFrame, machine: str) -> list[Video]:
    """The videos to merge, in the listing's order, each with the tables the machine rule lets in."""
    metas = dict(zip(listing.index, map(read_meta, listing["path"]), strict=True))
    out = []
    for vid, rows in listing.groupby("video_id", sort=False):
        row = ok.loc[vid]
        tables = machine_rule([metas[i] for i in rows.index], machine)
        if not tables:
            continue
        out.append(Video(vid, None if pd.isna(row.get("avg_fps")) else float(row["avg_fps"]),
                         None if pd.isna(row.get("n_frames")) else row["n_frames"],
                         None if pd.isna(row.get("duration")) else row["duration"], tables))
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
    result = MergeResult(pd.DataFrame(), pd.DataFrame())
    result.unmatched = sorted(set(listing["video_id"]) - set(ok.index))
    videos = _videos(ws, ok, listing[listing["video_id"].isin(ok.index)], machine)
    if spec == "auto":
        spec = auto_spec(len(videos))
    tasks = progress if hasattr(progress, "add_task") else Tasks(progress or current_progress())
    bar = tasks.add_task("merge", total=len(videos))
    runs = _runs(videos, spec.jobs if spec.kind == "local" else max(spec.jobs, 2))
    items = [{"ws_root": str(ws.root), "videos": run, "index": i} for i, run in enumerate(runs)]
    done: dict[int, dict[str, Any]] = {}
    for res in map_items(_merge_item, items, spec, "merge", Tasks()):
        if res.error:
            raise AffcurateError(res.error)
        done[res.item["index"]] = res.value
        tasks.advance(bar, len(res.item["videos"]))
    parts, stats, dis_rows = [], [], []
    for i in range(len(items)):  # the order of the listing, whichever run finished first
        value = done[i]
        for key in ("errors", "length_fixes", "warnings", "lags"):
            getattr(result, key).extend(value[key])
        parts += value["parts"]
        stats += value["stats"]
        dis_rows += value["segments"]  # every segment is kept (disagreements.parquet: the desk's review queue)
    if result.errors:  # nothing is written: the labels of the last good merge stay as they were
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        kept = f"{ws.labels_path.name} is left as it was" if ws.labels_path.exists() else "nothing was written"
        raise AffcurateError(f"{result.errors[0]}{more}; {kept}")
    labels = _columns_to_frame(parts, s) if parts else pd.DataFrame(columns=["video_id", "frame"])
    if len(labels):
        grid = labels
        labels = keep_frames(labels, s, keep, drop, result.filters)
        result.video_counts = video_counts(grid, labels, list(s.aus), drop)
    result.labels = labels
    result.agreement = pd.DataFrame(stats, columns=["video_id", "task", "label", "statistic", "value",
                                                    "n_annotators"])
    segments = (pd.concat(dis_rows, ignore_index=True) if dis_rows else pd.DataFrame(columns=SEGMENT_COLUMNS))
    segments = segments[segments["score"] > 0].sort_values(["score", "video_id", "start"],
                                                           ascending=[False, True, True]).reset_index(drop=True)
    if disagreements and len(segments):
        result.disagreements = segments.head(disagreements).reset_index(drop=True)
    meta = {"settings": s.__dict__, "keep": keep, "drop_no_face": drop, "machine": machine,
            "length_fixes": result.length_fixes, "errors": result.errors, "warnings": result.warnings,
            "lags": result.lags, "filters": result.filters, "video_counts": result.video_counts}
    LabelTable(result.labels, tuple(s.aus), len(s.expressions), meta).write(ws)
    io.write_parquet(result.agreement, ws.root / "agreement.parquet")
    io.write_parquet(segments.astype({"start": np.int64, "end": np.int64, "score": np.float64}),
                     ws.root / "disagreements.parquet")
    return result


SEGMENT_COLUMNS = ["video_id", "task", "label", "start", "end", "score"]
"""disagreements.parquet: windows of a second where annotators disagree (score: 1 − the agreeing share for AUs
and expressions, the raters' standard deviation for VA), most disagreed first."""

