"""``datacard.md``: a datasheet of the workspace (sources, collection, annotation protocol of the tasks it has,
annotators, agreement, the labelled data, splits, licences)."""

from __future__ import annotations

import json

import pandas as pd

from affcurate import io
from affcurate.labels.model import list_annotations
from affcurate.labels.table import LabelTable
from affcurate.reporting.render import markdown_table
from affcurate.workspace import Workspace


def _tasks(ws: Workspace, table: LabelTable) -> str:
    """One clause per task the merged labels hold, and how its annotators were fused."""
    s = ws.settings.labels
    parts = []
    if table.has_task("au"):
        parts.append(f"AU ({', '.join(table.aus)}), fused by {s.au_fusion} vote")
    if table.has_task("expr"):
        parts.append(f"expressions ({', '.join(s.expressions)}), fused by {s.expr_fusion} vote")
    if table.has_task("va"):
        parts.append(f"valence-arousal in [-1, 1], fused by the {s.va_fusion}")
    return "; ".join(parts) if parts else "none merged yet"


def _merge_line(table: LabelTable, tolerance: int) -> str:
    meta = table.meta
    if "keep" not in meta:
        return ""
    fixes = meta.get("length_fixes") or []
    videos = len({f["video_id"] for f in fixes})
    keep = {"all": "every frame", "labelled": "the labelled frames", "au-positive": "the frames with at least one "
            "AU (seed 001)"}.get(meta["keep"], meta["keep"])
    return (f" Merge kept {keep}; {videos} video(s) had their labels extended or cropped to the video's length "
            f"(within ±{tolerance} frames, listed in the report).")


def datacard(ws: Workspace, table: LabelTable, splits: pd.DataFrame | None, general: pd.DataFrame) -> str:
    """A datasheet: sources, collection, annotation protocol, annotators, agreement, splits, licences."""
    m = ws.manifest()
    ok = m[m["status"] == "ok"]
    meta = ok["meta"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    licences = sorted({str(d.get("licence") or d.get("license")) for d in meta if d.get("licence") or d.get("license")})
    sources = ok["source"].dropna().value_counts()
    ann = list_annotations(ws)
    s = ws.settings
    lines = [f"# Datacard: {ws.root.name}", "",
             "## Sources", f"{len(ok)} videos ({len(m)} in the manifest; "
             f"{int((m['status'] == 'error').sum())} unreadable, {int((m['status'] == 'duplicate').sum())} duplicates).",
             *(f"- {src}: {n} videos" for src, n in sources.items()), "",
             "## Collection", f"Transcoded to constant {s.ingest.fps:g} fps H.264; codecs "
             f"{', '.join(sorted(ok['codec'].dropna().unique()))}; {int(ok['vfr'].fillna(False).sum())} sources had a "
             f"variable frame rate. Faces: detector {s.faces.detector}, subject chosen by {s.faces.target}, "
             f"{s.faces.align} alignment to {s.faces.crop_size}×{s.faces.crop_size} crops.",
             f"Subjects: {ok['subject'].nunique()} ({int(ok['subject'].isna().sum())} videos without a subject). "
             f"{_identities_line(ws)}", "",
             "## Annotation protocol",
             f"Tasks: {_tasks(ws, table)}. Labels are put on the frame grid through each video's frame map; "
             f"length tolerance ±{s.labels.length_tolerance} frames; frames without the subject's face are "
             f"{'left out' if s.labels.drop_no_face else 'kept'}.{_merge_line(table, s.labels.length_tolerance)}", "",
             "## Annotators"]
    if len(ann):
        t = ann.groupby(["annotator", "task"]).size().rename("videos").reset_index()
        lines += [t.to_markdown(index=False), ""]
    ag_path = ws.root / "agreement.parquet"
    lines += ["## Agreement"]
    if ag_path.exists() and len(ag := io.read_parquet(ag_path)):
        lines += [markdown_table(ag.groupby(["task", "statistic"])["value"].mean().round(3).unstack()), ""]
    else:
        lines += ["One annotator per task: no agreement statistics.", ""]
    lines += ["## Labelled data", markdown_table(general), "", "## Splits"]
    if splits is not None:
        meta_s = io.parquet_metadata(ws.splits_path)
        gap = meta_s.get("max_au_gap_pp")
        facts = [f"{name} {meta_s[key]}" for name, key in (("method", "method"), ("seed", "seed"),
                                                            ("fractions", "fractions")) if meta_s.get(key) is not None]
        if isinstance(gap, int | float):
            facts.append(f"largest AU-rate gap {gap:.2f} percentage points")
        who = {"faces": "no person (by face identity) is in two splits",
               "both": "no person (by subject id or face identity) is in two splits"}.get(
            str(meta_s.get("subjects")), "no subject is in two splits")
        lines += [(f"{'; '.join(facts).capitalize()}. " if facts else "") + f"Subject-independent: {who}.", ""]
    else:
        lines += ["Not split yet (`affcurate split`).", ""]
    lines += ["## Licences", ", ".join(licences) if licences else "Not recorded in the manifest (add a 'licence' "
              "column to the ingest list).", ""]
    return "\n".join(lines)


def _identities_line(ws: Workspace) -> str:
    """How the subjects were established: given ids only, or with face identities (and what is still open)."""
    from affcurate.identity import has_identities, read_findings, read_identities

    if not has_identities(ws):
        return "Subject ids as given in the ingest list (identities across videos were not checked by face)."
    ident = read_identities(ws)
    findings = read_findings(ws)
    open_ = int((~findings["reviewed"].astype(bool)).sum()) if len(findings) else 0
    return (f"Checked by face (`affcurate subjects`: dlib face descriptors, threshold "
            f"{ws.settings.subjects.threshold:g}): {ident['identity'].nunique()} identities; {open_} findings "
            "between identities and subject ids not yet reviewed.")
