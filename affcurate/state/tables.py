"""Where the whole-workspace stages stand (subjects, import, merge, split, report, train): an output is stale
when one of its inputs is newer than it, or when the settings it recorded differ from the current ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from affcurate import io
from affcurate.lock import TEMP_RE
from affcurate.media.probe import file_sha256
from affcurate.state.model import Tally, plain, settings_reason
from affcurate.workspace import Workspace


def mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _newer(paths: Iterable[Path], than: int) -> list[Path]:
    return [p for p in paths if (mtime(p) or 0) > than]


def _meta(path: Path) -> dict[str, Any]:
    try:
        return io.parquet_metadata(path)
    except (OSError, ValueError):
        return {}


def _one(tally: Tally, output: Path, why: list[str], missing: str) -> Tally:
    if not output.exists():
        tally.add("workspace", "missing", missing)
    elif why:
        tally.add("workspace", "stale", "; ".join(why))
    else:
        tally.add("workspace", "done")
    return tally


def _changed(ws: Workspace, paths: list[Path], what: str, output: Path) -> list[str]:
    """``annotations/a/au/v.parquet changed since labels.parquet was written`` (or how many did)."""
    if not paths:
        return []
    shown = str(paths[0].relative_to(ws.root)) if len(paths) == 1 else f"{len(paths)} {what}"
    return [f"{shown} changed since {output.relative_to(ws.root)} was written"]


def _faces_tables(ws: Workspace) -> list[Path]:
    return sorted((ws.root / "faces").glob("*.parquet"))


def subjects(ws: Workspace, ok_videos: list[str]) -> Tally:
    from affcurate.identity.stage import corrections_path, identities_path

    out = identities_path(ws)
    why: list[str] = []
    t = mtime(out)
    if t is not None:
        why += _changed(ws, _newer([*_faces_tables(ws), corrections_path(ws)], t), "faces tables", out)
        meta = _meta(out)
        stored = {k: meta[k] for k in ("threshold", "frames") if k in meta}
        why += settings_reason(stored, ws.settings.subjects.__dict__, "subjects")
        try:
            known = set(io.read_parquet(out, columns=["video_id"])["video_id"])
        except (OSError, ValueError, KeyError):
            known = set()
        new = [v for v in ok_videos if v not in known and ws.faces_path(v).exists()]
        if new:
            why.append(f"{len(new)} videos with faces have no identity yet ({', '.join(new[:3])}"
                       f"{'…' if len(new) > 3 else ''})")
    return _one(Tally("workspace"), out, why, "no identities yet")


def imported(ws: Workspace, listing: list[dict[str, Any]], ok_videos: list[str], bad: list[dict[str, str]],
             where: str) -> Tally:
    """Per video: labelled by someone (done) or not (missing); the stage is done once anything is labelled.
    ``where``: the workspace as the commands name it."""
    tally = Tally("videos", any_done=True)
    labelled = {f["video_id"] for f in listing}
    for vid in ok_videos:
        tally.add(vid, "done" if vid in labelled else "missing", None if vid in labelled or not listing else
                  "no annotations")
    for b in bad:
        tally.add(b["id"], "failed", error=b["error"])
    unmatched = sorted(labelled - set(ok_videos))
    if unmatched:
        tally.note(f"annotations of {len(unmatched)} videos that are not ingested (or failed): "
                   f"{', '.join(unmatched[:3])}{'…' if len(unmatched) > 3 else ''}")
    if not listing:
        tally.note(f"no annotations yet: import label files, or label on the desk (affcurate annotate {where})")
    return tally


def merge(ws: Workspace) -> Tally:
    out = ws.labels_path
    why: list[str] = []
    t = mtime(out)
    if t is not None:
        ann = ws.annotations_dir
        files = _newer(ann.glob("*/*/*.parquet"), t)
        why += _changed(ws, files, "annotation tables", out)
        # a folder's time changes when a table in it is added, replaced or removed
        if not files and _newer([ann, *ann.glob("*"), *ann.glob("*/*")] if ann.exists() else [], t):
            why.append(f"annotation tables were removed or moved since {out.name} was written")
        why += _changed(ws, _newer(_faces_tables(ws), t), "faces tables", out)
        why += _changed(ws, _newer(sorted((ws.root / "frames").glob("*.parquet")), t), "frame maps", out)
        why += settings_reason(_meta(out).get("settings") or {}, ws.settings.labels.__dict__, "labels")
    return _one(Tally("workspace"), out, why, "no merged labels yet")


def split(ws: Workspace) -> Tally:
    from affcurate.identity.stage import identities_path

    out = ws.splits_path
    why: list[str] = []
    t = mtime(out)
    if t is not None:
        inputs = [ws.labels_path]
        if _meta(out).get("subjects") in ("faces", "both"):  # a split that used the identities
            inputs.append(identities_path(ws))
        why += _changed(ws, _newer(inputs, t), "tables", out)
    return _one(Tally("workspace"), out, why, "no split yet")


def report(ws: Workspace) -> Tally:
    from affcurate.identity.stage import identities_path

    out = ws.reports_dir / "report.html"
    why: list[str] = []
    t = mtime(out)
    if t is not None:
        inputs = [ws.labels_path, ws.splits_path, identities_path(ws)]
        why += _changed(ws, _newer(inputs, t), "tables", out)
    return _one(Tally("workspace"), out, why, "no report yet")


def _data_key(ws: Workspace) -> dict[str, str]:
    """What a run records of the labels and splits it was trained on (as :func:`affcurate.train.runs.data_key`,
    which loads torch with its package)."""
    return {p.name: file_sha256(p)[:16] for p in (ws.labels_path, ws.splits_path) if p.exists()}


def train(ws: Workspace) -> Tally:
    """Per run under runs/: done (finished on the current labels and splits), stale (finished on older ones)
    or missing (not finished: interrupted, or running now; the same command resumes it)."""
    tally = Tally("runs", any_done=True)
    runs = sorted(p for p in ws.runs_dir.glob("*") if p.is_dir() and not TEMP_RE.match(p.name)) \
        if ws.runs_dir.exists() else []
    current = None
    for run in runs:
        try:
            config = io.read_json(run / "config.json")
        except (OSError, ValueError):
            continue  # not a run folder (or a damaged one, which the trainer refuses by name)
        if not (run / "benchmark.json").exists():
            tally.add(run.name, "missing", "not finished")
            continue
        current = _data_key(ws) if current is None else current
        if plain(config.get("data")) == current:
            tally.add(run.name, "done")
        else:
            tally.add(run.name, "stale", "labels.parquet or splits.parquet changed since the run")
    if not sum(tally.counts.values()):
        tally.note("no baseline run yet")
    return tally
