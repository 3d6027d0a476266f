"""`affcurate split`: subject-independent splits by frames, balanced in their label distributions.

All videos of one subject land in the same split (a video without a subject is its own group). Targets are
fractions of frames (train/val/test) or K subject-disjoint folds. Among assignments near the targets, the one
whose AU positive rates, expression histogram, valence-arousal 2-D histogram and chosen manifest columns are
closest across splits wins. ``random`` draws N random assignments the way seed 001 did and keeps the best;
``optimise`` (the default) assigns greedily and then improves by moving and swapping groups.

Every part's share of frames must lie within ``split.tolerance`` (``--tolerance``) of its target. Whether whole
subjects allow that is decided first (:mod:`.feasible`: exactly for few subjects), and when they do not, the one
error line quotes the closest fractions there are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.imagesets.samples import per_image, to_rows
from affcurate.labels.table import LabelTable
from affcurate.lock import writes_workspace
from affcurate.splits.check import check  # noqa: F401  (affcurate.split.check, as before)
from affcurate.splits.feasible import Closest, closest
from affcurate.splits.result import SplitResult
from affcurate.splits.search import OUTSIDE, Features, Objective, greedy, local_search, random_draw
from affcurate.workspace import Workspace

VA_BINS = 10
RESTARTS = 4


def _groups(manifest: pd.DataFrame, labelled: list[str]) -> tuple[pd.Series, list[str]]:
    m = manifest.set_index("video_id").loc[labelled]
    subject = m["subject"].astype("string")
    lonely = subject[subject.isna()].index.tolist()
    return subject.fillna(pd.Series({v: f"video:{v}" for v in lonely}, dtype="string")), lonely


def _video_sums(table: LabelTable, vids: list[str], values: np.ndarray) -> np.ndarray:
    """(N, K) per-frame values summed per video, rows in the order of ``vids``; float64 keeps counts exact."""
    by_video = pd.DataFrame(np.asarray(values, np.float64)).groupby(table.frame["video_id"].to_numpy(), sort=False)
    return by_video.sum().loc[vids].to_numpy(float)


SUBJECTS = ("given", "faces", "both")


def people(ws: Workspace, subjects: str | None = None) -> tuple[str, pd.DataFrame]:
    """Who is who for a split: the manifest with ``subject`` as the person key of ``subjects`` — ``given`` (the
    subject ids), ``faces`` (the identities of ``affcurate subjects``) or ``both`` (videos sharing either, through
    any chain, are one person); default ``both`` when identities exist, else ``given``."""
    from affcurate.identity import has_identities, joined_subjects

    use = subjects or ("both" if has_identities(ws) else "given")
    if use not in SUBJECTS:
        raise AffcurateError(f"--subjects {use!r}: expected one of {', '.join(SUBJECTS)}")
    manifest = ws.manifest()
    if use != "given":
        if not has_identities(ws):
            raise AffcurateError(f"--subjects {use} needs the identities: run `affcurate subjects {ws.root}` first")
        key = joined_subjects(ws, use)
        manifest = manifest.assign(subject=manifest["video_id"].map(key).astype("string"))
    return use, manifest


def features(table: LabelTable, manifest: pd.DataFrame, balance_columns: tuple[str, ...] = ()) -> Features:
    """Aggregate the frame labels per video, then per subject (vectorised)."""
    vids = table.video_ids
    subject, _ = _groups(manifest, vids)
    parts_num, parts_den, kinds = [], [], {}
    col = 0
    aus = list(table.aus)
    if aus:
        parts_num.append(_video_sums(table, vids, np.nan_to_num(table.au_presence(), nan=0.0)))
        parts_den.append(_video_sums(table, vids, table.labelled("au")))
        kinds["au"] = slice(col, col + len(aus))
        col += len(aus)
    if table.labelled("expr").any():
        e = table.expr()
        num = _video_sums(table, vids, np.stack([e == k for k in range(table.n_classes)], 1))
        parts_num.append(num)
        parts_den.append(np.repeat(num.sum(1, keepdims=True), table.n_classes, 1))
        kinds["expr"] = slice(col, col + table.n_classes)
        col += table.n_classes
    if table.labelled("va")[:, 0].any():
        va = table.va().astype(np.float64)  # float32 on disk: the bins are those of the stored values
        ok = table.labelled("va").all(1)
        vb, ab = np.clip((np.nan_to_num((va + 1) / 2) * VA_BINS).astype(int), 0, VA_BINS - 1).T
        bins = vb * VA_BINS + ab
        codes = pd.Categorical(table.frame["video_id"], categories=vids).codes
        num = np.zeros((len(vids), VA_BINS * VA_BINS))
        np.add.at(num, (codes[ok], bins[ok]), 1)
        parts_num.append(num)
        parts_den.append(np.repeat(num.sum(1, keepdims=True), VA_BINS * VA_BINS, 1))
        kinds["va"] = slice(col, col + VA_BINS * VA_BINS)
        col += VA_BINS * VA_BINS
    frames_v = table.frame["video_id"].value_counts().loc[vids].to_numpy(float)
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
          balance_columns: tuple[str, ...] | None = None, write: bool = True, tolerance: float | None = None,
          from_file: str | Path | None = None, skip_unknown: bool = False, allow_leaks: bool = False,
          subjects: str | None = None
          ) -> SplitResult:
    """Split the labelled videos of the workspace; writes ``splits.parquet`` (the Python twin of
    ``affcurate split``). Unset arguments come from the workspace settings. With ``from_file``, the split of
    that file is adopted instead (:func:`affcurate.splits.adopt.adopt`)."""
    s = ws.settings.split
    if from_file is not None:
        given = {"train": train, "val": val, "test": test, "folds": folds, "method": method, "draws": draws,
                 "seed": seed, "tolerance": tolerance}
        if any(v is not None for v in given.values()):
            asked = ", ".join(k for k, v in given.items() if v is not None)
            raise AffcurateError(f"a split adopted from {from_file} has no {asked}: leave them out, or compute "
                                 "a split without --from")
        from affcurate.splits.adopt import adopt  # adopting reads other layouts: loaded when asked

        return adopt(ws, from_file, skip_unknown=skip_unknown, allow_leaks=allow_leaks,
                     balance_columns=balance_columns, write=write)
    if folds is None:
        folds = s.folds
    if train is None and val is None and test is None:
        train, val, test = s.train, s.val, s.test
    else:
        train, val, test = train or 0.0, val or 0.0, test or 0.0
    method = method or s.method
    draws = draws or s.draws
    seed = s.seed if seed is None else seed
    tolerance = s.tolerance if tolerance is None else float(tolerance)
    balance_columns = tuple(balance_columns if balance_columns is not None else s.balance_columns)
    if method not in ("optimise", "random"):
        raise AffcurateError(f"unknown split method {method!r}: expected optimise or random")
    if not 0 <= tolerance <= 0.5:
        raise AffcurateError(f"split tolerance {tolerance:g}: expected a share of frames between 0 and 0.5")
    targets, names = _targets(train, val, test, folds)
    table = LabelTable.read(ws)
    if not len(table):
        raise AffcurateError(f"{ws.labels_path} has no frames: nothing to split")
    use, manifest = people(ws, subjects)
    # the images of an image set are split one by one, each a sample (and by default a subject) of its own
    table, manifest, images = per_image(ws, table, manifest)
    f = features(table, manifest, balance_columns)
    if len(f.groups) < len(targets):
        raise AffcurateError(f"{len(f.groups)} subjects cannot fill {len(targets)} splits; each split needs at "
                             "least one subject")
    close = closest(f.frames, targets, tolerance)
    if close.miss(targets) > tolerance + 1e-9:
        raise AffcurateError(_unreachable(f, targets, names, close, tolerance))
    obj = Objective(f, targets, tolerance)
    rng = np.random.default_rng(seed)
    if method == "random":
        best, best_score = None, np.inf
        for _ in range(draws):
            a = random_draw(f.frames, targets, rng)
            sc = obj(a)
            if sc < best_score:
                best, best_score = a, sc
        if best_score >= OUTSIDE:
            raise AffcurateError(f"none of {draws} random draws has every part within {tolerance:g} of its "
                                 "target, though such assignments exist: raise --draws, or use --method optimise")
        assign = best
    else:
        # a few starts (greedy, then seed 001-style draws), each improved by local search; keep the best
        restarts = RESTARTS if len(f.groups) <= 2000 else 1  # many small groups: one start is enough
        starts = [greedy(f, targets, rng)] + [random_draw(f.frames, targets, rng) for _ in range(restarts - 1)]
        if min(obj(a) for a in starts) >= OUTSIDE:
            starts.append(close.assign.copy())  # the feasibility search's assignment is within the tolerance
        assign, best_score = None, np.inf
        for a0 in starts:
            a = local_search(obj, a0, rng)
            sc = obj(a)
            if sc < best_score:
                assign, best_score = a, sc
    assert assign is not None
    empty = [n for k, n in enumerate(names) if targets[k] > 0 and not (assign == k).any()]
    if empty:  # a fold or split nobody is in would be trained or scored on nothing
        raise AffcurateError(f"no subject lands in {', '.join(empty)} within the tolerance {tolerance:g}: "
                             f"{len(f.groups)} subjects for {len(names)} parts; use fewer parts or a smaller "
                             "tolerance")
    result = _result(ws, table, f, assign, names, obj, method, seed, folds > 0)
    result.assignment = to_rows(result.assignment, images)
    lonely = _groups(manifest, table.video_ids)[1]
    if lonely:  # one subject per clip or image is how some datasets are (seed 000, AffectNet): said, not warned
        result.notes.append(f"{len(lonely)} videos have no subject and are each their own group: "
                            f"{', '.join(lonely[:5])}{'…' if len(lonely) > 5 else ''}")
    if write:
        meta = {"method": method, "seed": seed, "draws": draws if method == "random" else None,
                "targets": dict(zip(names, targets.tolist(), strict=True)), "score": result.score,
                "max_au_gap_pp": result.max_au_gap, "balance_columns": list(balance_columns),
                "fractions": result.fractions, "tolerance": tolerance, "source": None, "subjects": use}
        io.write_parquet(result.assignment, ws.splits_path, metadata=meta)
    return result


def _unreachable(f: Features, targets: np.ndarray, names: list[str], close: Closest, tolerance: float) -> str:
    """One line: the targets, why whole subjects cannot meet them, and the closest fractions there are."""
    share = f.frames / f.frames.sum()
    big = int(np.argmax(share))
    if share[big] - targets.max() > tolerance:
        why = f"subject {f.groups[big]} alone holds {share[big]:.0%} of the frames"
    else:
        who = "no assignment" if close.exact else "the search found no assignment"
        why = f"{who} of the {len(f.groups)} subjects has every part within {tolerance:g} of its target"
    fr = close.fractions
    return (f"the targets {' / '.join(f'{n} {t:.2f}' for n, t in zip(names, targets, strict=True))} cannot be "
            f"met with whole subjects: {why}; closest {'achievable' if close.exact else 'found'}: "
            f"{' / '.join(f'{n} {c:.3f}' for n, c in zip(names, fr, strict=True))} (a part off by "
            f"{np.abs(fr - targets).max():.3f}; the tolerance is {tolerance:g}: --tolerance or split.tolerance)")


def _result(ws: Workspace, table: LabelTable, f: Features, assign: np.ndarray, names: list[str],
            obj: Objective, method: str, seed: int, is_folds: bool) -> SplitResult:
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
    from affcurate.reporting.tables import summary_tables  # the report's tables (and its plotting) on demand

    result.summary = summary_tables(ws, df, table)
    return result
