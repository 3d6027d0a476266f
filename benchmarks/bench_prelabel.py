"""Time saved by pre-labels: one real sample video annotated twice through the desk's session (no GUI), from
scratch and from a trained model's pre-labels with corrections, with the edits each needs and a simulated time.

    .venv/bin/python benchmarks/bench_prelabel.py [--runs 3] [--video wolfgang] [--models prior,linear,cnn]

The workspace is the demo's (pipelines/demo.toml: the five sample videos, the demo labels), but the video
annotated has no labels: its demo labels are the truth the scripted annotator types in. The baselines are
trained on the other videos' labels (all of them in train), `affcurate predict` pre-labels the video, and each
replay is a :class:`annotator_gui.session.Session` given the edits a person would make, then saved; the saved
tables are checked against the truth.

The script (what each replay does, task by task; AU presence only, the models predict no intensity):

- from scratch: per AU, one edit per run of frames where it is present (an AU never present: one edit marking
  it absent; unmarked frames of a touched AU are saved absent); one edit per run of frames of one expression;
  VA recorded in one 2-D pass while the video plays (one sample per frame with a face);
- from pre-labels: per task (per AU) one edit accepting the model's labels over the whole video (the desk's
  `A` on a marked range), then one edit per run of the truth (frames of one value) where some frame is wrong,
  and one per run where the model labelled frames the truth leaves empty; VA frames off the truth by more than
  ``--tolerance`` in a dimension are re-recorded, in segments (bad frames less than ``--gap`` apart are one
  segment), one edit each plus its frames at 1x.

The time model: each edit costs ``--edit-seconds`` (seek to the run's start, mark in, seek to its end, mark
out, press the key); every task is watched once at 1x (one pass per AU, one for the expressions, one for VA:
from scratch that VA pass is the recording, from pre-labels it is the review, before the re-recorded segments),
so both replays watch the same (``--review-speed`` > 1 plays the pre-labels' review faster); re-recorded VA
frames add their duration at 1x. Machine time (training, `predict`, the linear baseline's landmarks) is measured
apart, as wall time. Each run trains the models with another seed; figures are medians over the runs (the
replay from scratch depends on the truth only and is done once).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from _table import print_table

from affcurate.labels.model import read_annotation
from affcurate.recipe import run
from affcurate.splits.adopt import adopt
from affcurate.train.landmarks import Landmarks
from affcurate.train.predict import predict
from affcurate.train.runner import train_baseline
from affcurate.workspace import Workspace
from annotator_gui.edits import au_absent, au_write, expr_write, va_clear, va_sample
from annotator_gui.session import Session

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipelines" / "demo.toml"
FPS = 30.0


@dataclass
class Truth:
    """The demo labels of the video on its grid: AU presence (-1 none), expression (-1 none), VA (NaN none)."""

    au: dict[str, np.ndarray]
    expr: np.ndarray
    va: np.ndarray


@dataclass
class Replay:
    edits: int = 0
    va_frames: int = 0         # recorded (from scratch: during the VA pass itself) or re-recorded
    rerecorded: bool = False   # the VA frames are recorded again after the review pass
    right: dict[str, float] = field(default_factory=dict)  # share of the truth's frames the accepted labels got right

    def seconds(self, n_frames: int, passes: int, edit_s: float, speed: float = 1.0) -> float:
        """The time model of the module: every pass watched at ``speed``, each edit, the re-recorded frames at 1x."""
        watched = passes * n_frames / FPS / speed
        return watched + self.edits * edit_s + (self.va_frames / FPS if self.rerecorded else 0.0)


def runs_of(values: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, end inclusive, value) of each run of equal values, NaN-free (frames without a value break runs)."""
    out: list[tuple[int, int, float]] = []
    start = None
    for i, v in enumerate(values.tolist() + [np.nan]):
        if start is not None and (np.isnan(v) or v != values[start]):
            out.append((start, i - 1, float(values[start])))
            start = None
        if start is None and not np.isnan(v):
            start = i
    return out


def segments(bad: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True, joined across holes of fewer than ``gap`` frames."""
    idx = np.flatnonzero(bad)
    if not len(idx):
        return []
    cuts = np.flatnonzero(np.diff(idx) > gap)
    starts, ends = np.r_[idx[0], idx[cuts + 1]], np.r_[idx[cuts], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def read_truth(labels: Path, video: str, aus: list[str], n: int) -> Truth:
    def grid(task: str) -> pd.DataFrame:
        df = pd.read_csv(labels / task / f"{video}.csv")
        return df[(df["frame"] >= 0) & (df["frame"] < n)]

    au, expr, va = grid("au"), grid("expr"), grid("va")
    out = {}
    for a in aus:
        v = np.full(n, np.nan)
        v[au["frame"]] = au[a]
        out[a] = v
    e = np.full(n, np.nan)
    e[expr["frame"]] = expr["expr"]
    v = np.full((n, 2), np.nan)
    v[va["frame"], 0], v[va["frame"], 1] = va["valence"], va["arousal"]
    return Truth(out, e, v)


def from_scratch(s: Session, truth: Truth) -> Replay:
    r = Replay()
    for a, values in truth.au.items():
        present = [(i, j) for i, j, v in runs_of(values) if v == 1]
        for i, j in present:
            s.edit(au_write(a, i, j, p=1))
        if not present:
            s.edit(au_absent(a, 0, s.n_frames - 1))
        r.edits += max(len(present), 1)
    for i, j, v in runs_of(truth.expr):
        s.edit(expr_write(i, j, int(v)))
        r.edits += 1
    s.begin()
    for f in np.flatnonzero(~np.isnan(truth.va).any(1)):
        s.edit(va_sample(int(f), float(truth.va[f, 0]), float(truth.va[f, 1]), "2d"))
        r.va_frames += 1
    s.end()
    r.edits += 1  # arming the pad for the pass
    return r


def _fix_discrete(s: Session, mine: np.ndarray, truth: np.ndarray, write) -> int:
    """One edit per truth run with a wrong frame, one per run the machine labelled that the truth leaves empty."""
    edits = 0
    for i, j, v in runs_of(truth):
        if (mine[i:j + 1] != v).any():
            s.edit(write(i, j, int(v)))
            edits += 1
    extra = np.where(np.isnan(truth) & ~np.isnan(mine), 1.0, np.nan)
    for i, j, _ in runs_of(extra):
        s.edit(write(i, j, None))
        edits += 1
    return edits


def from_prelabels(s: Session, truth: Truth, tol: float, gap: int) -> Replay:
    r = Replay()
    last = s.n_frames - 1
    hits: list[np.ndarray] = []
    for a, values in truth.au.items():
        if s.accept_machine("au", 0, last, au=a) is None:  # an AU the model does not predict: by hand
            present = [(i, j) for i, j, v in runs_of(values) if v == 1]
            for i, j in present:
                s.edit(au_write(a, i, j, p=1))
            if not present:
                s.edit(au_absent(a, 0, last))
            r.edits += max(len(present), 1)
            continue
        r.edits += 1
        k = s.labels.au_index(a)
        mine = np.where(s.labels.au_p[:, k] < 0, 0, s.labels.au_p[:, k]).astype(float)  # as the desk saves it
        mine[np.isnan(values)] = np.nan  # frames without a face: saved absent either way
        hits.append((mine == values)[~np.isnan(values)])
        r.edits += _fix_discrete(s, mine, values, lambda i, j, v, a=a: au_write(a, i, j, p=v))
    if s.accept_machine("expr", 0, last) is not None:
        r.edits += 1
    mine = np.where(s.labels.expr < 0, np.nan, s.labels.expr).astype(float)
    labelled = ~np.isnan(truth.expr)
    r.right = {"au": float(np.concatenate(hits).mean()) if hits else float("nan"),
               "expr": float((mine == truth.expr)[labelled].mean())}
    r.edits += _fix_discrete(s, mine, truth.expr, expr_write)
    if s.accept_machine("va", 0, last) is not None:
        r.edits += 1
    va = s.labels.va.astype(float)
    rated = ~np.isnan(truth.va).any(1)
    bad = rated & (np.isnan(va).any(1) | (np.abs(va - truth.va) > tol).any(1))
    r.right["va"] = float(1 - bad[rated].mean())
    for i, j in segments(bad, gap):
        s.begin()
        for f in range(i, j + 1):
            if rated[f]:
                s.edit(va_sample(f, float(truth.va[f, 0]), float(truth.va[f, 1]), "2d"))
                r.va_frames += 1
        s.end()
        r.edits += 1
    for i, j, _ in runs_of(np.where(~rated & ~np.isnan(va).all(1), 1.0, np.nan)):
        s.edit(va_clear(i, j))
        r.edits += 1
    r.rerecorded = True
    return r


def check(ws: Workspace, annotator: str, video: str, truth: Truth, tol: float) -> dict[str, int]:
    """Frames the saved tables get wrong: AU presence and expression exactly, VA beyond ``tol``."""
    out = {}
    tables = {t: read_annotation(ws.annotation_path(annotator, t, video)).data for t in ("au", "expr", "va")}
    au = tables["au"].set_index("frame")
    out["au"] = int(sum(((au[a].reindex(range(len(v))).to_numpy(float) != v) & ~np.isnan(v)).sum()
                        for a, v in truth.au.items()))
    e = tables["expr"].set_index("frame")["expr"].reindex(range(len(truth.expr))).to_numpy(float)
    out["expr"] = int(((e != truth.expr) & ~np.isnan(truth.expr)).sum())
    va = tables["va"].set_index("frame")[["valence", "arousal"]].reindex(range(len(truth.va))).to_numpy(float)
    rated = ~np.isnan(truth.va).any(1)
    out["va"] = int((rated & (np.isnan(va).any(1) | (np.abs(va - truth.va) > tol + 1e-6).any(1))).sum())
    return out


def replay(ws: Workspace, video: str, annotator: str, script) -> Replay:
    s = Session(ws, video, annotator)
    try:
        r = script(s)
        s.save()
    finally:
        s.close()
    return r


def workspace(tmp: Path, video: str) -> tuple[Workspace, Path]:
    """The demo workspace without the labels of ``video`` (they are returned as the truth's folder)."""
    recipe = tmp / "recipe"
    shutil.copytree(ROOT / "pipelines" / "demo", recipe / "demo")
    truth = tmp / "truth"
    for task in ("au", "expr", "va"):
        (truth / task).mkdir(parents=True)
        shutil.move(recipe / "demo" / "labels" / task / f"{video}.csv", truth / task / f"{video}.csv")
    text = DEMO.read_text(encoding="utf-8")
    keep = [block for block in text.split("\n[") if not block.startswith(("subjects]", "split]", "report]",
                                                                        "train]"))]
    (recipe / "bench.toml").write_text("\n[".join(keep), encoding="utf-8")
    ws_root = tmp / "ws"
    run(recipe / "bench.toml", ws_root)
    others = sorted(set(pd.read_csv(recipe / "demo" / "videos.csv")["video_id"]) - {video, "no_face"})
    pd.DataFrame({"video_id": others, "split": "train"}).to_csv(tmp / "split.csv", index=False)
    ws = Workspace.open(ws_root)
    adopt(ws, tmp / "split.csv")  # every other video is trained on: the run predicts, it is not scored here
    return ws, truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--video", default="wolfgang")
    ap.add_argument("--models", default="prior,linear,cnn")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--edit-seconds", type=float, default=5.0)
    ap.add_argument("--tolerance", type=float, default=0.2, help="VA error a reviewer lets pass")
    ap.add_argument("--gap", type=int, default=15, help="frames between two bad VA stretches re-recorded as one")
    ap.add_argument("--review-speed", type=float, default=1.0, help="playback speed of the pre-labels' review")
    args = ap.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    found: dict[str, list[float]] = {}

    def put(key: str, value: float) -> None:
        found.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp_dir:
        ws, truth_dir = workspace(Path(tmp_dir), args.video)
        aus = list(ws.settings.labels.aus)
        n_frames = len(ws.frame_map(args.video))
        truth = read_truth(truth_dir, args.video, aus, n_frames)
        passes = len(aus) + 2  # one per AU, one for the expressions, one for VA
        # the replay from scratch depends on nothing but the truth: once is its every run
        scratch = replay(ws, args.video, "scratch", lambda s: from_scratch(s, truth))
        wrong = check(ws, "scratch", args.video, truth, args.tolerance)
        assert not any(wrong.values()), wrong
        put("scratch edits", scratch.edits)
        put("scratch va", scratch.va_frames)
        put("scratch s", scratch.seconds(n_frames, passes, args.edit_seconds))
        for i in range(args.runs):
            t0 = time.perf_counter()
            train_baseline(ws, models=models, tasks=["au", "expr", "va"], epochs=args.epochs, seed=i, name=f"pre{i}",
                           on_note=lambda _: None)
            put("train s", time.perf_counter() - t0)
            t0 = time.perf_counter()
            n_crops = len(Landmarks(None, write=False).of_video(ws, args.video))  # no cache: dlib on every crop
            put("landmarks ms", 1000 * (time.perf_counter() - t0) / n_crops)
            for m in models:
                t0 = time.perf_counter()
                out = predict(ws, f"pre{i}", m, videos=[args.video])
                put(f"{m} predict s", time.perf_counter() - t0)
                assert not out.failed, out.failed
                who = f"fix{i}-{m}"
                fixed = replay(ws, args.video, who, lambda s: from_prelabels(s, truth, args.tolerance, args.gap))
                wrong = check(ws, who, args.video, truth, args.tolerance)
                assert not any(wrong.values()), (m, wrong)
                shutil.rmtree(ws.annotations_dir / out.annotator)  # the next model's are the only machine labels
                for task, share in fixed.right.items():
                    put(f"{m} right {task}", share)
                put(f"{m} edits", fixed.edits)
                put(f"{m} va", fixed.va_frames)
                put(f"{m} s", fixed.seconds(n_frames, passes, args.edit_seconds, args.review_speed))
    med = {k: statistics.median(v) for k, v in found.items()}
    rows = []
    rows.append((f"video {args.video}: frames on the 30 fps grid", f"{n_frames}", "frames"))
    rows.append(("from scratch: edits", f"{med['scratch edits']:.0f}", "edits"))
    rows.append(("from scratch: VA frames recorded", f"{med['scratch va']:.0f}", "frames"))
    rows.append(("from scratch: simulated time", f"{med['scratch s']:.0f}", "s"))
    for m in models:
        right = " / ".join(f"{100 * med[f'{m} right {t}']:.0f}" for t in ("au", "expr", "va"))
        rows.append((f"pre-labels of {m}: frames right as accepted", right, f"% AU / expr / VA±{args.tolerance:g}"))
        rows.append((f"pre-labels of {m} + corrections: edits", f"{med[f'{m} edits']:.0f}", "edits"))
        rows.append((f"pre-labels of {m} + corrections: VA frames re-recorded", f"{med[f'{m} va']:.0f}", "frames"))
        rows.append((f"pre-labels of {m} + corrections: simulated time", f"{med[f'{m} s']:.0f}", "s"))
        rows.append((f"time saved by pre-labels of {m}", f"{100 * (1 - med[f'{m} s'] / med['scratch s']):.0f}",
                     "% of from scratch"))
        rows.append((f"affcurate predict {m} on the video (wall)", f"{med[f'{m} predict s']:.2f}", "s"))
    rows.append((f"train-baseline {','.join(models)}, {args.epochs} epochs (wall)", f"{med['train s']:.1f}", "s"))
    rows.append(("linear's dlib 68 landmarks, one aligned crop (read and predict)", f"{med['landmarks ms']:.2f}",
                 "ms"))
    print_table(f"pre-labelling benchmark (medians of {args.runs} runs; {args.edit_seconds:g} s per edit, every "
                f"task watched once, pre-labels reviewed at {args.review_speed:g}x)", ("figure", "value", "unit"), rows)


if __name__ == "__main__":
    main()
