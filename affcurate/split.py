"""`affcurate split`: subject-independent splits by frames, balanced in their label distributions.

All videos of one subject land in the same split (a video without a subject is its own group). Targets are
fractions of frames (train/val/test) or K subject-disjoint folds. Among assignments near the targets, the one
whose AU positive rates, expression histogram, valence-arousal 2-D histogram and chosen manifest columns are
closest across splits wins. ``random`` draws N random assignments the way seed 001 did and keeps the best;
``optimise`` (the default) assigns greedily and then improves by moving and swapping groups.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError, InputError, StageMissingError
from affcurate.lock import writes_workspace
from affcurate.workspace import Workspace

VA_BINS = 10
RESTARTS = 4
FRACTION_WEIGHT = 3.0
# weights of the total-variation distances (points) beside the AU gaps; the 100-bin VA histogram is noisy
KIND_WEIGHTS = {"expr": 0.3, "va": 0.1, "extra": 0.5}


@dataclass
class Features:
    """Per group (subject): frames, and numerators/denominators of every balanced rate."""

    groups: list[str]
    videos: dict[str, list[str]]
    frames: np.ndarray                  # (G,)
    num: np.ndarray                     # (G, F)
    den: np.ndarray                     # (G, F)
    kinds: dict[str, slice]             # feature block per kind: au, expr, va, extra
    au_names: list[str]


@dataclass
class SplitResult:
    assignment: pd.DataFrame            # video_id, subject, split and/or fold
    score: float
    max_au_gap: float                   # percentage points
    fractions: dict[str, float]
    summary: dict[str, pd.DataFrame] = field(default_factory=dict)
    method: str = "optimise"
    seed: int = 0


def _groups(manifest: pd.DataFrame, labelled: list[str]) -> tuple[pd.Series, list[str]]:
    m = manifest.set_index("video_id").loc[labelled]
    subject = m["subject"].astype("string")
    lonely = subject[subject.isna()].index.tolist()
    if lonely:
        warnings.warn(f"{len(lonely)} videos have no subject and are each their own group: "
                      f"{', '.join(lonely[:5])}{'…' if len(lonely) > 5 else ''}", stacklevel=3)
    return subject.fillna(pd.Series({v: f"video:{v}" for v in lonely}, dtype="string")), lonely


def features(labels: pd.DataFrame, manifest: pd.DataFrame, aus: list[str], n_expr: int,
             balance_columns: tuple[str, ...] = ()) -> Features:
    """Aggregate the frame labels per video, then per subject (vectorised)."""
    vids = pd.unique(labels["video_id"]).tolist()
    subject, _ = _groups(manifest, vids)
    per_video = labels.groupby("video_id", sort=False)
    parts_num, parts_den, kinds = [], [], {}
    col = 0
    aus = [a for a in aus if a in labels.columns]
    if aus:
        au = labels[aus].astype("Float64")
        parts_num.append(au.fillna(0).groupby(labels["video_id"], sort=False).sum().loc[vids].to_numpy(float))
        parts_den.append(au.notna().groupby(labels["video_id"], sort=False).sum().loc[vids].to_numpy(float))
        kinds["au"] = slice(col, col + len(aus))
        col += len(aus)
    if "expr" in labels.columns and labels["expr"].notna().any():
        e = labels["expr"].astype("Float64")
        onehot = np.stack([(e == k).fillna(False).to_numpy(bool) for k in range(n_expr)], 1).astype(float)
        num = pd.DataFrame(onehot).groupby(labels["video_id"].to_numpy(), sort=False).sum().loc[vids].to_numpy()
        den = np.repeat(num.sum(1, keepdims=True), n_expr, 1)
        parts_num.append(num)
        parts_den.append(den)
        kinds["expr"] = slice(col, col + n_expr)
        col += n_expr
    if "valence" in labels.columns and labels["valence"].notna().any():
        v = labels["valence"].to_numpy(float)
        a = labels["arousal"].to_numpy(float)
        ok = ~(np.isnan(v) | np.isnan(a))
        vb = np.clip((np.nan_to_num((v + 1) / 2) * VA_BINS).astype(int), 0, VA_BINS - 1)
        ab = np.clip((np.nan_to_num((a + 1) / 2) * VA_BINS).astype(int), 0, VA_BINS - 1)
        bins = vb * VA_BINS + ab
        codes = pd.Categorical(labels["video_id"], categories=vids).codes
        num = np.zeros((len(vids), VA_BINS * VA_BINS))
        np.add.at(num, (codes[ok], bins[ok]), 1)
        parts_num.append(num)
        parts_den.append(np.repeat(num.sum(1, keepdims=True), VA_BINS * VA_BINS, 1))
        kinds["va"] = slice(col, col + VA_BINS * VA_BINS)
        col += VA_BINS * VA_BINS
    frames_v = per_video.size().loc[vids].to_numpy(float)
    extra_cols = []
    m = manifest.set_index("video_id")
    for c in balance_columns:
        if c in m.columns:
            values = m.loc[vids, c].astype("string")
        elif "meta" in m.columns:
            values = m.loc[vids, "meta"].map(lambda s, c=c: json.loads(s).get(c) if isinstance(s, str) else None)
        else:
            raise AffcurateError(f"balance column {c!r} is neither a manifest column nor in its metadata")
        values = values.fillna("(none)").astype(str)
        for cat in sorted(values.unique()):
            extra_cols.append(np.where(values == cat, frames_v, 0.0))
    if extra_cols:
        num = np.stack(extra_cols, 1)
        parts_num.append(num)
        parts_den.append(np.repeat(frames_v[:, None], num.shape[1], 1))
        kinds["extra"] = slice(col, col + num.shape[1])
        col += num.shape[1]
    num_v = np.concatenate(parts_num, 1) if parts_num else np.zeros((len(vids), 0))
    den_v = np.concatenate(parts_den, 1) if parts_den else np.zeros((len(vids), 0))
    g = subject.loc[vids].to_numpy()
    groups, inv = np.unique(g, return_inverse=True)
    G = len(groups)
    num_g = np.zeros((G, num_v.shape[1]))
    den_g = np.zeros((G, den_v.shape[1]))
    frames_g = np.zeros(G)
    np.add.at(num_g, inv, num_v)
    np.add.at(den_g, inv, den_v)
    np.add.at(frames_g, inv, frames_v)
    videos: dict[str, list[str]] = {}
    for vid, gi in zip(vids, inv, strict=True):
        videos.setdefault(str(groups[gi]), []).append(vid)
    return Features([str(x) for x in groups], videos, frames_g, num_g, den_g, kinds, aus)


class Objective:
    """Score of an assignment (lower is better): distance of the frame fractions from their targets, the
    largest AU-rate gap between splits, and total-variation distances of the histograms, all in points."""

    def __init__(self, f: Features, targets: np.ndarray):
        self.f = f
        self.t = targets
        self.total = f.frames.sum()

    def sums(self, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = len(self.t)
        n = np.zeros(k)
        num = np.zeros((k, self.f.num.shape[1]))
        den = np.zeros((k, self.f.den.shape[1]))
        np.add.at(n, assign, self.f.frames)
        np.add.at(num, assign, self.f.num)
        np.add.at(den, assign, self.f.den)
        return n, num, den

    def score_sums(self, n: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """Vectorised over leading axes: n (..., k), num/den (..., k, F)."""
        frac = n / self.total
        score = FRACTION_WEIGHT * 100 * np.abs(frac - self.t).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
        for kind, sl in self.f.kinds.items():
            r = rate[..., sl]
            if kind == "au":
                # the largest gap is what a reader checks; the mean gap keeps the search moving on a plateau
                gap = np.nan_to_num(np.nanmax(r, -2) - np.nanmin(r, -2), nan=0.0)
                score = score + 100 * (gap.max(-1, initial=0.0) + gap.mean(-1))
            else:
                pair = np.abs(r[..., :, None, :] - r[..., None, :, :])
                tv = 0.5 * np.nan_to_num(pair, nan=0.0).sum(-1).max((-1, -2))
                score = score + 100 * KIND_WEIGHTS[kind] * tv
        return score

    def __call__(self, assign: np.ndarray) -> float:
        return float(self.score_sums(*self.sums(assign)))

    def max_au_gap(self, assign: np.ndarray) -> float:
        n, num, den = self.sums(assign)
        sl = self.f.kinds.get("au")
        if sl is None:
            return 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(den[:, sl] > 0, num[:, sl] / np.maximum(den[:, sl], 1e-12), np.nan)
        return float(100 * np.nan_to_num(np.nanmax(r, 0) - np.nanmin(r, 0), nan=0).max(initial=0))


def _random_draw(frames: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seed 001: groups in random order fill the first split until it reaches its share, then the next."""
    order = rng.permutation(len(frames))
    assign = np.zeros(len(frames), dtype=np.int64)
    bounds = np.cumsum(targets) * frames.sum()
    cum = np.cumsum(frames[order]) - frames[order] / 2
    assign[order] = np.minimum(np.searchsorted(bounds, cum, side="right"), len(targets) - 1)
    return assign


def _greedy(f: Features, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Largest groups first, each to the split furthest below its frame target."""
    order = np.lexsort((rng.random(len(f.frames)), -f.frames))
    want = targets * f.frames.sum()
    have = np.zeros(len(targets))
    assign = np.zeros(len(f.frames), dtype=np.int64)
    for g in order:
        s = int(np.argmax((want - have) / np.maximum(want, 1e-9)))
        assign[g] = s
        have[s] += f.frames[g]
    return assign


def _local_search(obj: Objective, assign: np.ndarray, rng: np.random.Generator, rounds: int = 3000,
                  batch: int = 256, patience: int = 60) -> np.ndarray:
    """Improve by the best of a batch of random moves (a group to another split) and swaps (two groups of
    different splits trade places), until a few rounds in a row bring nothing."""
    k = len(obj.t)
    G = len(assign)
    n, num, den = obj.sums(assign)
    best = float(obj.score_sums(n, num, den))
    stale = 0
    fr, X, D = obj.f.frames, obj.f.num, obj.f.den
    for _ in range(rounds):
        # moves
        g = rng.integers(0, G, batch)
        to = (assign[g] + rng.integers(1, k, batch)) % k if k > 1 else assign[g]
        frm = assign[g]
        n2 = np.repeat(n[None], batch, 0)
        num2 = np.repeat(num[None], batch, 0)
        den2 = np.repeat(den[None], batch, 0)
        idx = np.arange(batch)
        n2[idx, frm] -= fr[g]
        n2[idx, to] += fr[g]
        num2[idx, frm] -= X[g]
        num2[idx, to] += X[g]
        den2[idx, frm] -= D[g]
        den2[idx, to] += D[g]
        s_move = obj.score_sums(n2, num2, den2)
        # swaps
        h = rng.integers(0, G, batch)
        a_s, b_s = assign[g], assign[h]
        n3 = np.repeat(n[None], batch, 0)
        num3 = np.repeat(num[None], batch, 0)
        den3 = np.repeat(den[None], batch, 0)
        for arr, vals in ((n3, fr), (num3, X), (den3, D)):
            arr[idx, a_s] += vals[h] - vals[g]
            arr[idx, b_s] += vals[g] - vals[h]
        s_swap = np.where(a_s != b_s, obj.score_sums(n3, num3, den3), np.inf)
        i_m, i_s = int(np.argmin(s_move)), int(np.argmin(s_swap))
        if min(s_move[i_m], s_swap[i_s]) < best - 1e-9:
            if s_move[i_m] <= s_swap[i_s]:
                assign[g[i_m]] = to[i_m]
                n, num, den, best = n2[i_m], num2[i_m], den2[i_m], float(s_move[i_m])
            else:
                assign[g[i_s]], assign[h[i_s]] = b_s[i_s], a_s[i_s]
                n, num, den, best = n3[i_s], num3[i_s], den3[i_s], float(s_swap[i_s])
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    return assign


def closest_fractions(frames: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Frame fractions of a greedy assignment towards the targets (what grouping by subject allows)."""
    f = Features([], {}, frames, np.zeros((len(frames), 0)), np.zeros((len(frames), 0)), {}, [])
    assign = _greedy(f, targets, np.random.default_rng(0))
    share = np.zeros(len(targets))
    np.add.at(share, assign, frames)
    return share / frames.sum()


def _targets(train: float | None, val: float | None, test: float | None, folds: int) -> tuple[np.ndarray, list[str]]:
    if folds:
        if folds < 2:
            raise AffcurateError(f"--folds {folds}: expected at least 2 folds")
        return np.full(folds, 1.0 / folds), [f"fold{i}" for i in range(folds)]
    parts = {"train": train or 0.0, "val": val or 0.0, "test": test or 0.0}
    if any(v < 0 or v > 1 for v in parts.values()):
        raise AffcurateError("split fractions must lie between 0 and 1")
    total = sum(parts.values())
    if abs(total - 1) > 1e-6:
        raise AffcurateError(f"split fractions train {parts['train']:g} + val {parts['val']:g} + test "
                             f"{parts['test']:g} = {total:g}; they must sum to 1")
    names = [k for k, v in parts.items() if v > 0]
    return np.array([parts[k] for k in names]), names


@writes_workspace("affcurate split")
def split(ws: Workspace, train: float | None = None, val: float | None = None, test: float | None = None,
          folds: int | None = None, method: str | None = None, draws: int | None = None, seed: int | None = None,
          balance_columns: tuple[str, ...] | None = None, write: bool = True) -> SplitResult:
    """Split the labelled videos of the workspace; writes ``splits.parquet`` (the Python twin of
    ``affcurate split``). Unset arguments come from the workspace settings."""
    s = ws.settings.split
    if folds is None:
        folds = s.folds
    if train is None and val is None and test is None:
        train, val, test = s.train, s.val, s.test
    else:
        train, val, test = train or 0.0, val or 0.0, test or 0.0
    method = method or s.method
    draws = draws or s.draws
    seed = s.seed if seed is None else seed
    balance_columns = tuple(balance_columns if balance_columns is not None else s.balance_columns)
    if method not in ("optimise", "random"):
        raise AffcurateError(f"unknown split method {method!r}: expected optimise or random")
    targets, names = _targets(train, val, test, folds)
    if not ws.labels_path.exists():
        raise StageMissingError(str(ws.labels_path), f"affcurate merge {ws.root}")
    labels = io.read_parquet(ws.labels_path)
    if labels.empty:
        raise AffcurateError(f"{ws.labels_path} has no frames: nothing to split")
    f = features(labels, ws.manifest(), list(ws.settings.labels.aus), len(ws.settings.labels.expressions),
                 balance_columns)
    share = f.frames / f.frames.sum()
    if len(f.groups) < len(targets):
        raise AffcurateError(f"{len(f.groups)} subjects cannot fill {len(targets)} splits; each split needs at "
                             "least one subject")
    biggest = int(np.argmax(share))
    close = closest_fractions(f.frames, targets)
    if np.abs(close - targets).max() > 0.05:
        raise AffcurateError(
            f"the targets {' / '.join(f'{n} {t:.2f}' for n, t in zip(names, targets, strict=True))} cannot be met "
            f"with whole subjects: subject {f.groups[biggest]} alone holds {share[biggest]:.0%} of the frames; "
            f"closest achievable: {' / '.join(f'{n} {c:.2f}' for n, c in zip(names, close, strict=True))}")
    obj = Objective(f, targets)
    rng = np.random.default_rng(seed)
    if method == "random":
        best, best_score = None, np.inf
        for _ in range(draws):
            a = _random_draw(f.frames, targets, rng)
            sc = obj(a)
            if sc < best_score:
                best, best_score = a, sc
        assign = best
    else:
        # a few starts (greedy, then seed 001-style draws), each improved by local search; keep the best
        restarts = RESTARTS if len(f.groups) <= 2000 else 1  # many small groups: one start is enough
        starts = [_greedy(f, targets, rng)] + [_random_draw(f.frames, targets, rng) for _ in range(restarts - 1)]
        assign, best_score = None, np.inf
        for a0 in starts:
            a = _local_search(obj, a0, rng)
            sc = obj(a)
            if sc < best_score:
                assign, best_score = a, sc
    assert assign is not None
    result = _result(ws, f, assign, names, obj, method, seed, folds > 0)
    if write:
        meta = {"method": method, "seed": seed, "draws": draws if method == "random" else None,
                "targets": dict(zip(names, targets.tolist(), strict=True)), "score": result.score,
                "max_au_gap_pp": result.max_au_gap, "balance_columns": list(balance_columns),
                "fractions": result.fractions}
        io.write_parquet(result.assignment, ws.splits_path, metadata=meta)
    return result


def _result(ws: Workspace, f: Features, assign: np.ndarray, names: list[str], obj: Objective, method: str,
            seed: int, is_folds: bool) -> SplitResult:
    rows = []
    for gi, g in enumerate(f.groups):
        for vid in f.videos[g]:
            rows.append({"video_id": vid, "subject": g, "part": names[assign[gi]]})
    df = pd.DataFrame(rows)
    if is_folds:
        df["fold"] = df.pop("part").str[4:].astype(np.int64)
    else:
        df["split"] = df.pop("part")
    share = np.zeros(len(names))
    np.add.at(share, assign, f.frames)
    share /= f.frames.sum()
    result = SplitResult(df, obj(assign), obj.max_au_gap(assign),
                         dict(zip(names, np.round(share, 4).tolist(), strict=True)), method=method, seed=seed)
    result.summary = summary_tables(ws, df)
    return result


def _part_column(df: pd.DataFrame) -> str:
    return "split" if "split" in df.columns else "fold"


def summary_tables(ws: Workspace, assignment: pd.DataFrame, labels: pd.DataFrame | None = None
                   ) -> dict[str, pd.DataFrame]:
    """Seed 001 Table 3.4 and friends: per split the AU counts and %, the largest gap; expressions; VA; subjects
    and frames."""
    labels = io.read_parquet(ws.labels_path) if labels is None else labels
    col = _part_column(assignment)
    part = labels["video_id"].map(assignment.set_index("video_id")[col])
    parts = [p for p in pd.unique(assignment[col])]
    out: dict[str, pd.DataFrame] = {}
    overview = pd.DataFrame({
        "subjects": assignment.groupby(col)["subject"].nunique(),
        "videos": assignment.groupby(col)["video_id"].nunique(),
        "frames": labels.groupby(part).size(),
    }).reindex(parts)
    overview.index.name = None
    overview["% frames"] = (100 * overview["frames"] / overview["frames"].sum()).round(2)
    out["overview"] = overview
    aus = [a for a in ws.settings.labels.aus if a in labels.columns]
    if aus:
        au = labels[aus].astype("Float64")
        counts = au.fillna(0).groupby(part).sum().T.reindex(columns=parts)
        rates = (100 * au.groupby(part).mean()).T.reindex(columns=parts)
        table = pd.concat({"count": counts.astype(int), "%": rates.astype(float).round(2)}, axis=1)
        table[("gap", "pp")] = (rates.max(axis=1) - rates.min(axis=1)).astype(float).round(2)
        table.index.name = "AU"
        table.columns.names = [None, None]
        out["au"] = table
    if "expr" in labels.columns and labels["expr"].notna().any():
        names = list(ws.settings.labels.expressions)
        e = labels["expr"].astype("Float64")
        ok = e.notna().to_numpy()
        named = pd.Series(np.asarray(names, dtype=object)[e[ok].astype(int).to_numpy()], index=e.index[ok])
        ct = pd.crosstab(named, part[ok]).reindex(columns=parts)
        ct = (100 * ct / ct.sum()).round(2)
        ct.index.name, ct.columns.name = "expression (%)", None
        out["expr"] = ct
    if "valence" in labels.columns and labels["valence"].notna().any():
        va = labels.groupby(part)[["valence", "arousal"]].agg(["mean", "std"]).reindex(parts).round(3)
        va.index.name = None
        out["va"] = va
    return out


def check(ws: Workspace, path: str | Path | None = None) -> list[str]:
    """Problems of a split judged by the current manifest (a re-ingest may have changed who is in a video): a
    subject in two splits or folds, a video the manifest no longer has, a labelled video left out."""
    path = Path(path) if path else ws.splits_path
    if not path.exists():
        raise StageMissingError(str(path), f"affcurate split {ws.root}")
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str)
        if "video_id" not in df.columns or not ({"split", "fold"} & set(df.columns)):
            raise InputError(path, "expected columns video_id and split (or fold)", 1)
    else:
        df = io.read_parquet(path)
    vids, part = df["video_id"].astype(str), df[_part_column(df)].astype(str)
    manifest = ws.manifest().set_index("video_id")
    # the subject column stored beside the split is what was true when it was made: never trusted here
    subj = vids.map(manifest["subject"].astype("string")).fillna("video:" + vids)
    problems = []
    gone = sorted(set(vids) - set(manifest.index))
    if gone:
        problems.append(f"{len(gone)} videos of the split are not in the manifest: {_few(gone)}")
    for s_, parts in part.groupby(subj):
        if parts.nunique() > 1:
            where = " and ".join(sorted(parts.unique()))
            listed = _few([f"{v} ({p})" for v, p in sorted(zip(vids[parts.index], parts, strict=True))])
            problems.append(f"subject {s_} is in {where} (leakage): {listed}")
    if ws.labels_path.exists():
        labelled = set(io.read_parquet(ws.labels_path, columns=["video_id"])["video_id"])
        missing = sorted(labelled - set(vids))
        if missing:
            problems.append(f"{len(missing)} labelled videos are in no split: {_few(missing)}")
    return problems


def _few(items: list[str], n: int = 8) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def summary_markdown(result: SplitResult) -> str:
    lines = [f"# Split ({result.method}, seed {result.seed})", "",
             f"Score {result.score:.3f}; largest AU-rate gap {result.max_au_gap:.2f} percentage points.", ""]
    for name, table in result.summary.items():
        lines += [f"## {name}", "", table.to_markdown() if hasattr(table, "to_markdown") else table.to_string(), ""]
    return "\n".join(lines)
