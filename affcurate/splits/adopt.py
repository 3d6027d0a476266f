"""`affcurate split --from FILE`: adopt a given split (a dataset's official lists, or one made elsewhere).

Every name of the file must be a video (or subject, or image) of the workspace, and every labelled video must be
in the file; ``skip_unknown`` leaves out the names the workspace does not have and leaves the labelled videos the
file does not name unassigned (they are in no part of ``splits.parquet``, and are listed). A subject in two parts
is an error unless ``allow_leaks``. Videos of the file without labels are not written, as in a computed split.
The result is written and shown exactly as a computed split, with method ``given`` and the source recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import AffcurateError
from affcurate.imagesets.samples import per_image, to_rows
from affcurate.labels.table import LabelTable
from affcurate.lock import writes_workspace
from affcurate.splits.given import SPLITS, Entry, Given, read_given
from affcurate.splits.result import SplitResult
from affcurate.splits.search import Objective
from affcurate.splits.stage import features
from affcurate.workspace import Workspace


def _few(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def _place(given: Given, skip_unknown: bool, notes: list[str]) -> dict[str, tuple[str | int, Entry]]:
    """video → (part, the entry that put it there); unknown names refused or skipped, contradictions refused."""
    unknown = [e for e in given.entries if not e.videos]
    if unknown and not skip_unknown:
        more = f" ({len(unknown)} names of the file are unknown)" if len(unknown) > 1 else ""
        raise unknown[0].error(f"{given.noun} {unknown[0].name!r} is not in the workspace's manifest{more}; "
                               "expected one of its videos, or pass --skip-unknown to leave such names out")
    if unknown:
        notes.append(f"skipped {len(unknown)} {given.noun}s of the file that the workspace does not have: "
                     f"{_few([e.name for e in unknown])}")
    placed: dict[str, tuple[str | int, Entry]] = {}
    for e in given.entries:
        for vid in e.videos:
            first = placed.setdefault(vid, (e.part, e))
            if first[0] != e.part:
                before = first[1]
                at = f"line {before.line}" if before.line else f"row {before.row}" if before.row else str(before.file)
                raise e.error(f"video {vid} is put in {e.part} here and in {first[0]} at {at}; expected one part "
                              "per video")
    return placed


def _leaks(placed: dict[str, tuple[str | int, Entry]], subject: pd.Series, allow: bool, notes: list[str]) -> None:
    """A subject in two parts: refused (naming it and where), or with ``allow`` listed in the notes."""
    parts: dict[str, dict[str | int, str]] = {}
    leaks = []
    for vid, (part, e) in placed.items():
        s = subject[vid]
        seen = parts.setdefault(s, {})
        if part not in seen and seen and s not in [x[0] for x in leaks]:
            leaks.append((s, vid, e))
        seen.setdefault(part, vid)
    if not leaks:
        return
    if not allow:
        s, vid, e = leaks[0]
        where = " and ".join(f"{p} ({v})" for p, v in parts[s].items())
        more = f" ({len(leaks)} subjects are in two parts)" if len(leaks) > 1 else ""
        raise e.error(f"subject {s} is in {where}: a subject in two parts leaks between them{more}; pass "
                      "--allow-leaks to keep the split as given")
    notes.append(f"{len(leaks)} subjects are in two parts (allowed): {_few([x[0] for x in leaks])}")


@writes_workspace("affcurate split")
def adopt(ws: Workspace, path: str | Path, skip_unknown: bool = False, allow_leaks: bool = False,
          balance_columns: tuple[str, ...] | None = None, write: bool = True) -> SplitResult:
    """Adopt the split of ``path`` (CSV/Parquet of video or subject → split or fold, ABAW's or AffectNet's
    official layout) as the workspace's split; writes ``splits.parquet`` (the Python twin of
    ``affcurate split --from``)."""
    path = Path(path)
    table = LabelTable.read(ws)
    if not len(table):
        raise AffcurateError(f"{ws.labels_path} has no frames: nothing to split")
    # each image of an image set is placed on its own, found by its path as a video by its source
    table, manifest, images = per_image(ws, table, ws.manifest())
    given = read_given(path, manifest)
    balance_columns = tuple(balance_columns if balance_columns is not None else ws.settings.split.balance_columns)
    notes = list(given.notes)
    placed = _place(given, skip_unknown, notes)
    labelled = table.video_ids
    # a video without a subject is its own group, named as a computed split names it
    known = dict(zip(manifest["video_id"].astype(str), manifest["subject"], strict=True))
    every = list(dict.fromkeys([*labelled, *placed]))
    subject = pd.Series([known[v] if isinstance(known.get(v), str) else f"video:{v}" for v in every], index=every)
    kept = [v for v in labelled if v in placed]
    _leaks({v: placed[v] for v in kept}, subject, allow_leaks, notes)
    missing = [v for v in labelled if v not in placed]
    if missing and not skip_unknown:
        raise AffcurateError(f"{len(missing)} labelled videos are not in {path}: {_few(missing)}; expected every "
                             "labelled video in it, or pass --skip-unknown to leave them unassigned")
    if not kept:
        raise AffcurateError(f"no labelled video of the workspace is in {path}")
    if missing:
        notes.append(f"{len(missing)} labelled videos are not in the file and stay unassigned: {_few(missing)}")
    unlabelled = sorted(set(placed) - set(labelled))
    if unlabelled:
        notes.append(f"{len(unlabelled)} videos of the file have no labels and are not written: "
                     f"{_few(unlabelled)}")
    df, names, assign = _assignment(given, kept, placed, subject, notes)
    rows = to_rows(df, images)
    sub = table.select(table.frame["video_id"].isin(kept).to_numpy())
    # every video its own group: the balance of the parts as given, even where a subject is in two
    f = features(sub, manifest.assign(subject=manifest["video_id"]), balance_columns)
    at = {v: i for i, v in enumerate(kept)}
    group_assign = np.array([assign[at[f.videos[g][0]]] for g in f.groups], dtype=np.int64)
    share = np.zeros(len(names))
    np.add.at(share, group_assign, f.frames)
    share /= f.frames.sum()
    obj = Objective(f, share)  # the targets are the parts as given: only their balance is scored
    from affcurate.reporting.tables import summary_tables  # the report's tables (and its plotting) on demand

    result = SplitResult(rows, obj(group_assign), obj.max_au_gap(group_assign),
                         dict(zip(names, np.round(share, 4).tolist(), strict=True)),
                         summary_tables(ws, df, sub), method="given", seed=None, source=str(path), notes=notes)
    if write:
        meta = {"method": "given", "seed": None, "draws": None, "targets": None, "score": result.score,
                "max_au_gap_pp": result.max_au_gap, "balance_columns": list(balance_columns),
                "fractions": result.fractions, "tolerance": None, "source": str(path.resolve()),
                "layout": given.layout, "notes": notes, "subjects": "given"}
        io.write_parquet(rows, ws.splits_path, metadata=meta)
    return result


def _assignment(given: Given, kept: list[str], placed: dict[str, tuple[str | int, Entry]], subject: pd.Series,
                notes: list[str]) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """The rows of ``splits.parquet`` (video_id, subject, split or fold), the parts' names, each video's part."""
    parts = [placed[v][0] for v in kept]
    if given.column == "split":
        names = [p for p in SPLITS if p in set(parts)]
        df = pd.DataFrame({"video_id": kept, "subject": subject.loc[kept].to_numpy(), "split": parts})
        return df, names, np.array([names.index(p) for p in parts], dtype=np.int64)
    values = sorted({int(p) for p in parts})
    number = {v: i for i, v in enumerate(values)}
    if values != list(range(len(values))):
        notes.append(f"folds {', '.join(map(str, values))} of the file are stored as 0-{len(values) - 1}")
    folds = np.array([number[int(p)] for p in parts], dtype=np.int64)
    df = pd.DataFrame({"video_id": kept, "subject": subject.loc[kept].to_numpy(), "fold": folds})
    return df, [f"fold{i}" for i in range(len(values))], folds
