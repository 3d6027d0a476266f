"""`affcurate predict`: a trained run's per-frame predictions for videos without labels, written as a machine
annotation source for people to review and correct.

The tables go where ``affcurate import`` writes its own, ``annotations/<annotator>/<task>/<video>.parquet``,
with source ``model`` (a machine source: the desk shows them read-only and ``A`` accepts them; merge leaves
them out unless ``--machine fallback|fuse``) and a ``confidence`` column (:mod:`affcurate.train.prelabel`).
The annotator is named after the run and the model: ``<run>-<model>`` (``<run>-fold<k>-<model>`` for the model
of fold k of a cross-validated run), so two models of a run can be compared side by side.

By default every ingested video with face crops is pre-labelled for each task no person labelled for it (a
person's label: any annotation of that task and video from a source that is not a machine's). Each video's
tables carry a key of the model and the video's crops: a second identical call finds them current and writes
nothing, a call after a kill does the videos left. The run's ``predictions.json`` and model card list the
videos pre-labelled and by which call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.executor import ExecutorSpec, Progress, map_items
from affcurate.labels.model import MACHINE_SOURCES, TASKS, Annotation, list_annotations, write_annotations
from affcurate.lock import TEMP_RE, writes_workspace
from affcurate.media.probe import file_sha256
from affcurate.names import check_name
from affcurate.train import card, checkpoint, prelabel
from affcurate.train.checkpoint import DamagedFile
from affcurate.train.metrics import DIMS
from affcurate.train.prelabel import Target
from affcurate.workspace import Workspace, stage_key

SOURCE = "model"
RECORD = "predictions.json"  # in the run folder: which videos were pre-labelled, by which call


@dataclass
class PredictResult:
    """What a call did: per video the tasks ``written`` and those ``unchanged`` (already this model's on these
    crops), the videos that ``failed`` (one line each), and the videos ``skipped`` by default, with why."""

    run_dir: Path
    annotator: str
    written: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        return checkpoint.read_json(path)
    except DamagedFile as exc:
        raise AffcurateError(f"{exc}: train the run again with --overwrite") from None


def _runs(ws: Workspace) -> list[str]:
    if not ws.runs_dir.is_dir():
        return []
    return sorted(p.name for p in ws.runs_dir.iterdir() if (p / "config.json").is_file() and not TEMP_RE.match(p.name))


def _outputs(metrics: dict[str, Any]) -> dict[str, list[Any]]:
    """The model's outputs and which had train labels (``trained_on``; for a run of an older version, the AUs
    it was scored on, all taken as trained)."""
    if isinstance(metrics.get("trained_on"), dict):
        return metrics["trained_on"]
    aus = [k[3:] for k in metrics.get("au", {}) if k.startswith("f1_") and k != "f1_mean"]
    return {"aus": aus, "au": aus, "expr": [], "va": list(DIMS)}


def target(ws: Workspace, run: str, model: str = "cnn", fold: int | None = None) -> Target:
    """The trained model ``model`` of run ``run`` (of fold ``fold``), checked: one line for what is wrong."""
    check_name(run, "run name", "--run")
    run_dir = ws.runs_dir / run
    if not (run_dir / "config.json").is_file():
        known = _runs(ws)
        raise AffcurateError(f"unknown run {run!r}: expected one of {', '.join(known)}" if known else
                             f"unknown run {run!r}: {ws.runs_dir} has no runs; train one with `affcurate "
                             f"train-baseline {ws.root} --name {run}`")
    config = _read(run_dir / "config.json")
    if model not in config.get("models", []):
        raise AffcurateError(f"unknown model {model!r} in run {run}: expected one of {', '.join(config.get('models', []))}")
    k = int(config.get("folds") or 0)
    if k and fold is None:
        raise AffcurateError(f"run {run} is cross-validated over {k} folds: choose the fold whose model "
                             f"pre-labels with --fold (0-{k - 1})")
    if fold is not None and not 0 <= fold < k:
        raise AffcurateError(f"run {run} has no fold {fold}: " + (f"expected 0-{k - 1}" if k else "it has no folds"))
    folder = (run_dir / f"fold-{fold}" if k else run_dir) / model
    if not (folder / "metrics.json").is_file():
        raise AffcurateError(f"model {model} of run {run} has not finished training: run `affcurate train-baseline` "
                             "with the run's settings again to finish it")
    metrics = _read(folder / "metrics.json")
    out = _outputs(metrics)
    labels = ws.settings.labels
    alien = [a for a in out["aus"] if a not in labels.aus]
    if alien:
        raise AffcurateError(f"run {run} was trained on {alien[0]}, which is not among the workspace's AUs "
                             f"(labels.aus: {', '.join(labels.aus)})")
    thresholds = metrics.get("au_thresholds") or {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != "log.jsonl")
    annotator = f"{run}-{model}" if fold is None else f"{run}-fold{fold}-{model}"
    settings = {key: config[key] for key in ("epochs", "batch_size", "lr", "seed", "input_size", "window", "va_bins",
                                             "backbone")
                if key in config}
    return Target(str(ws.root), run, model, fold, str(folder), settings, tuple(config.get("tasks_trained") or config.get("tasks", [])),
                  tuple(out["aus"]), tuple(a for a in out["aus"] if a in out["au"]), tuple(out["va"]),
                  tuple(float(thresholds.get(a, 0.5)) for a in out["aus"]), len(labels.expressions),
                  stage_key(model, fold, [(p.name, file_sha256(p)) for p in files]),
                  check_name(annotator, "annotator name", "--run"))


def _tasks(t: Target, tasks: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    asked = tuple(dict.fromkeys(tasks or t.trained))
    for task in asked:
        if task not in TASKS:
            raise AffcurateError(f"unknown task {task!r}: expected some of {', '.join(TASKS)}")
        if task not in t.trained:
            raise AffcurateError(f"run {t.run} has no {task} model: it was trained for {', '.join(t.trained)}")
    return asked


def _crops(ws: Workspace, video_id: str) -> int:
    path = ws.crops_path(video_id)
    if not path.exists():
        return 0
    try:
        with h5py.File(path, "r") as h5:
            return len(h5["frames"])
    except (OSError, KeyError):
        return 0  # damaged crops: nothing to predict from (the faces stage redoes them)


def _labelled(ws: Workspace) -> set[tuple[str, str]]:
    """(video, task) of every person's annotation: a table of a source that is not a machine's."""
    out = set()
    for row in list_annotations(ws).itertuples():
        try:
            source = io.parquet_metadata(row.path).get("source")
        except (OSError, ValueError):
            source = None  # unreadable: it may be a person's, so the video is not pre-labelled over it
        if source not in MACHINE_SOURCES:
            out.add((row.video_id, row.task))
    return out


def plan(ws: Workspace, tasks: tuple[str, ...], videos: list[str] | None,
         skipped: dict[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """(video, tasks) to pre-label: the videos asked, every task; by default the videos with crops, each for
    the tasks no person labelled (the others go to ``skipped`` with why)."""
    manifest = ws.manifest(with_faces=False)
    status = dict(zip(manifest["video_id"].astype(str), manifest["status"].astype(str), strict=True))
    if videos is not None:
        for v in videos:
            check_name(v, "video id", "--videos")
            if v not in status:
                raise AffcurateError(f"unknown video {v!r}: not in {ws.manifest_path}")
            if status[v] != "ok":
                raise AffcurateError(f"video {v} was not ingested (status {status[v]}): nothing to predict from")
            if not ws.frames_path(v).exists() or not _crops(ws, v):
                what = "frame map" if not ws.frames_path(v).exists() else "face crops"
                raise AffcurateError(f"video {v} has no {what} to predict from: run `affcurate ingest {ws.root}` "
                                     "(a video without the subject's face has no crops)")
        return [(v, tasks) for v in dict.fromkeys(videos)]
    people = _labelled(ws)
    out = []
    for v in ws.video_ids():
        if not _crops(ws, v) or not ws.frames_path(v).exists():
            skipped[v] = "no face crops" if ws.frames_path(v).exists() else "no frame map"
            continue
        free = tuple(t for t in tasks if (v, t) not in people)
        if free:
            out.append((v, free))
        else:
            skipped[v] = f"labelled by people ({', '.join(tasks)})"
    return out


def call_text(ws: Workspace, run: str, model: str, fold: int | None, videos: list[str] | None,
              tasks: list[str] | tuple[str, ...] | None) -> str:
    """The command line of a call (what the model card says made the tables)."""
    parts = [f"affcurate predict {ws.root} --run {run} --model {model}"]
    parts += [f"--fold {fold}"] if fold is not None else []
    parts += [f"--videos {','.join(videos)}"] if videos else []
    parts += [f"--tasks {','.join(tasks)}"] if tasks else []
    return " ".join(parts)


def _record(ws: Workspace, t: Target, result: PredictResult, call: str) -> None:
    """``predictions.json``: per (video, annotator) the tasks with tables and the last call that wrote some."""
    path = result.run_dir / RECORD
    try:
        old = checkpoint.read_json(path).get("prelabelled", []) if path.exists() else []
    except DamagedFile:
        old = []  # rebuilt from this call: the tables themselves are all there
    before = list(old)
    entries = {(e["video"], e["annotator"]): e for e in old if isinstance(e, dict) and {"video", "annotator"} <= set(e)}
    for vid in {*result.written, *result.unchanged}:
        prev = entries.get((vid, t.annotator), {})
        have = [x for x in TASKS if ws.annotation_path(t.annotator, x, vid).exists()]
        entries[(vid, t.annotator)] = {"video": vid, "annotator": t.annotator, "model": t.model, "fold": t.fold,
                                       "tasks": have, "call": call if result.written.get(vid) or not prev
                                       else prev.get("call", call)}
    now = [entries[k] for k in sorted(entries)]
    if now != before or not path.exists():  # an identical call leaves the run folder as it was
        io.write_json(path, {"prelabelled": now})
    card.write_prelabelled(result.run_dir)


@writes_workspace("affcurate predict")
def predict(ws: Workspace, run: str, model: str = "cnn", videos: list[str] | None = None,
            tasks: list[str] | tuple[str, ...] | None = None, fold: int | None = None,
            spec: ExecutorSpec = ExecutorSpec(), progress: Progress | None = None) -> PredictResult:
    """Pre-label ``videos`` (default: every video without a person's labels of a task, for that task) with the
    trained ``model`` of run ``run`` (of fold ``fold`` if cross-validated), for ``tasks`` (default: the run's),
    on the executor ``spec``. Everything is checked before anything is written; a video that fails is reported
    in ``failed`` and the others go on."""
    t = target(ws, run, model, fold)
    asked = _tasks(t, tasks)
    result = PredictResult(ws.runs_dir / run, t.annotator)
    todo = plan(ws, asked, list(videos) if videos is not None else None, result.skipped)
    prelabel.load_model(t)  # a checkpoint that cannot be read back is refused here, before any table is written
    items = [(t, vid, ts) for vid, ts in todo]
    for r in map_items(prelabel.predict_video, items, spec, "predict", progress):
        vid = r.item[1]
        if r.error is not None:
            result.failed[vid] = r.error
            continue
        out = r.value
        extra = {"run": t.run, "model": t.model, "fold": t.fold, "key": out["key"]}
        anns = [Annotation(vid, task, t.annotator, df, source=SOURCE, clock="grid", time_base="frame",
                           shape="dense", complete=True, extra=extra) for task, df in out["tables"].items()]
        if anns:
            write_annotations(ws, anns)  # the tasks of one video together, all or nothing
            result.written[vid] = sorted(out["tables"])
        if out["unchanged"]:
            result.unchanged[vid] = list(out["unchanged"])
    _record(ws, t, result, call_text(ws, run, model, fold, list(videos) if videos else None, tasks))
    return result
