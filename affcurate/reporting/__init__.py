"""`affcurate report`: the dataset's statistics as a self-contained HTML page (plots embedded), the same in
Markdown, and a datasheet (``datacard.md``).

The tables follow seed 001 in its own units (see :mod:`affcurate.reporting.seed`): per batch when the manifest
names batches, counts before merge's filters and after them, shares of AU annotations, men and women per split,
and each video's length fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affcurate import io
from affcurate.labels.table import LabelTable
from affcurate.lock import writes_workspace
from affcurate.reporting.counts import GridCounts, grid_counts
from affcurate.reporting.datacard import datacard
from affcurate.reporting.plots import face_coverage, plots, track_sheets
from affcurate.reporting.render import Section, markdown, page
from affcurate.reporting.seed import (
    au_share_table,
    au_split_table,
    batch_of,
    filter_table,
    gender_table,
    general_table,
    length_fix_table,
    outside_table,
)
from affcurate.reporting.tables import summary_tables
from affcurate.workspace import Workspace

__all__ = ["ReportPaths", "dataset_summary", "datacard", "face_coverage", "report"]

SPLIT_TITLES = {"overview": "Split — overview", "au": "Split — AU occurrence (% of the labelled frames)",
                "expr": "Split — expressions (% of the frames with an expression)",
                "va": "Split — valence and arousal"}


@dataclass
class ReportPaths:
    html: Path
    markdown: Path
    datacard: Path
    figures: list[Path]


def dataset_summary(ws: Workspace, table: LabelTable) -> tuple[GridCounts, pd.Series | None, list[Section]]:
    """Seed 001 Tables 3.1 and 3.2 with the frames through merge's filters and the length fixes: the counts, the
    batch of each video (None without batches) and the report's sections."""
    counts = grid_counts(ws, table)
    batch = batch_of(ws.manifest(with_faces=False), counts.videos.index) if ws.has_manifest() else None
    where = ("before merge's filters, from the annotations on the grid" if counts.before_filters
             else "of the frames in labels.parquet (it records no merge filters to count before)")
    text = " ".join([f"Counts {where}{', per batch' if batch is not None else ''}.", *counts.notes])
    sections = [Section("Dataset (seed 001 Table 3.1)", general_table(counts, batch), text)]
    faces = "" if counts.faces else " The faces stage has not run: every frame counts as having the face."
    sections.append(Section("Frames through merge's filters", filter_table(counts, batch, table.meta),
                            "Labelled and AU counts are of the frames after the face step; each share is of the "
                            "frames on the grid." + faces))
    if counts.aus:
        sections.append(Section("Action Units (seed 001 Table 3.2)", au_share_table(counts, batch),
                                "count: frames where the AU is present. % of AU annotations: the AU's share of all "
                                "AU annotations (frame × AU), so the shares sum to 100. % of frames: the AU's share "
                                "of the frames on the grid."))
    tolerance = ws.settings.labels.length_tolerance
    fixes = length_fix_table(table.meta)
    if fixes is not None:
        sections.append(Section("Length fixes", fixes, f"Labels up to ±{tolerance} samples longer or shorter than "
                                                       "their video were cropped or extended to its length."))
    elif "length_fixes" in table.meta:
        sections.append(Section("Length fixes", text=f"No labels needed a length fix (tolerance ±{tolerance})."))
    outside = outside_table(table.meta)
    if outside is not None:
        sections.append(Section("Rows past a video's end", outside, "Left out by merge: beyond the tolerance."))
    return counts, batch, sections


def _split_sections(ws: Workspace, table: LabelTable, splits: pd.DataFrame) -> list[Section]:
    tables = summary_tables(ws, splits, table)
    out = [Section(SPLIT_TITLES["overview"], tables.pop("overview"))]
    gender = gender_table(splits, ws.manifest(with_faces=False))
    if gender is not None:
        out.append(Section("Split — men and women (seed 001 Table 3.3)", gender, "Subjects per split."))
    au = au_split_table(table, splits)
    if au is not None:
        out.append(Section("Split — Action Units (seed 001 Table 3.4)", au,
                           "count: kept frames where the AU is present. %: the AU's share of the split's AU "
                           "annotations. gap: the largest difference between the splits' shares."))
    out += [Section(SPLIT_TITLES.get(name, f"Split — {name}"), t) for name, t in tables.items()]
    return out


@writes_workspace("affcurate report")
def report(ws: Workspace) -> ReportPaths:
    """Write ``reports/report.html`` (self-contained), ``reports/report.md`` and ``reports/datacard.md``."""
    table = LabelTable.read(ws)
    out = ws.reports_dir
    splits = io.read_parquet(ws.splits_path) if ws.splits_path.exists() else None
    _, _, sections = dataset_summary(ws, table)
    general = sections[0].table
    if splits is not None:
        sections += _split_sections(ws, table, splits)
    agreement_path = ws.root / "agreement.parquet"
    if agreement_path.exists():
        ag = io.read_parquet(agreement_path)
        if len(ag):
            sections.append(Section("Agreement between annotators (mean over videos)",
                                    ag.groupby(["task", "label", "statistic"])["value"].mean().unstack().round(3)))
    cov = face_coverage(ws)
    if len(cov):
        sections.append(Section("Face coverage", cov))
    tracks = _tracks_section(ws, out)
    if tracks is not None:
        sections.append(tracks[0])
    figs = plots(ws, table, splits, out)
    from affcurate.identity import contact_sheet, has_identities

    if has_identities(ws):  # one row of faces per identity, findings first
        sheet = contact_sheet(ws, out / "contact_sheet.png")
        figs.append(("Identities (affcurate subjects): one row of faces per identity, findings first", sheet,
                     sheet.read_bytes()))
    html_path, md_path, card = out / "report.html", out / "report.md", out / "datacard.md"
    # the page embeds the sheets; the Markdown links them where they are (tracks/, not beside the report)
    sheets = [(f"Tracks of {vid}", path, path.read_bytes()) for vid, path in (tracks[2] if tracks else [])]
    md_sections = [tracks[1] if tracks is not None and s is tracks[0] else s for s in sections]
    io.write_text(html_path, page(f"Dataset report: {ws.root.name}", sections, figs + sheets))
    io.write_text(md_path, markdown("Dataset report", md_sections, figs))
    io.write_text(card, datacard(ws, table, splits, general))
    return ReportPaths(html_path, md_path, card, [p for _, p, _ in figs + sheets])


def _tracks_section(ws: Workspace, out: Path) -> tuple[Section, Section, list[tuple[str, Path]]] | None:
    """The "Tracks" section of the page and of the Markdown (the latter with links to the sheets), and the
    sheets; None when no video has more than one track."""
    table, sheets, problems = track_sheets(ws, out)
    if table.empty and not problems:
        return None
    text = ("One picture per video with more than one face track: a row per track (its frames, median score and "
            "a few faces), the subject's marked. `affcurate faces pick WS VIDEO TRACK` makes another track the "
            "subject; `affcurate faces show WS VIDEO` draws any video's.")
    text += "".join(f" No sheet: {p}" for p in problems)
    links = table.assign(sheet=[f"[{p}]({p})" for p in table["sheet"]])
    images = "\n\n".join(f"![Tracks of {vid}]({path.relative_to(out).as_posix()})" for vid, path in sheets)
    md_text = f"{text}\n\n{images}" if images else text
    return Section("Tracks", table, text), Section("Tracks", links, md_text), sheets
