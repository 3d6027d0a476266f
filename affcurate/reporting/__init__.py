"""`affcurate report`: the dataset's statistics as a self-contained HTML page (plots embedded), the same in
Markdown, and a datasheet (``datacard.md``)."""

from __future__ import annotations

import base64
import html
import io as _io
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from affcurate import io  # noqa: E402
from affcurate.labels.model import list_annotations  # noqa: E402
from affcurate.labels.table import LabelTable  # noqa: E402
from affcurate.lock import writes_workspace  # noqa: E402
from affcurate.reporting.tables import summary_tables  # noqa: E402
from affcurate.splits.check import part_column  # noqa: E402
from affcurate.workspace import Workspace  # noqa: E402


@dataclass
class ReportPaths:
    html: Path
    markdown: Path
    datacard: Path
    figures: list[Path]


def dataset_summary(table: LabelTable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed 001 Tables 3.1 and 3.2: videos, frames, frames with at least one AU, AUs annotated; per-AU counts."""
    aus = list(table.aus)
    # a frame whose AU is not labelled counts as without that AU in these counts
    au = pd.DataFrame(np.nan_to_num(table.au_presence(), nan=0.0).astype(int), columns=aus,
                      index=table.frame.index)
    any_au = int((au.sum(axis=1) > 0).sum()) if aus else 0
    general = pd.DataFrame({"value": {
        "videos": table.frame["video_id"].nunique(),
        "frames": len(table),
        "frames with at least one AU": f"{any_au} ({100 * any_au / max(len(table), 1):.1f}%)",
        "AUs annotated (frame × AU)": int(au.to_numpy().sum()) if aus else 0,
        "frames with an expression": int(table.labelled("expr").sum()),
        "frames with valence-arousal": int(table.labelled("va")[:, 0].sum()),
    }})
    per_au = pd.DataFrame({"frames": au.sum(axis=0), "% of frames": (100 * au.mean(axis=0)).round(2)}) if aus else \
        pd.DataFrame(columns=["frames", "% of frames"])
    per_au.index.name = "AU"
    return general, per_au


def _fig_to_png(fig: plt.Figure, path: Path) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    io.write_bytes(path, data)
    return data


def _plots(ws: Workspace, table: LabelTable, splits: pd.DataFrame | None, out: Path) -> list[tuple[str, Path, bytes]]:
    s = ws.settings.labels
    figs: list[tuple[str, Path, bytes]] = []
    labels = table.frame
    aus = list(table.aus)
    presence = table.au_presence().astype(np.float64)  # NaN (not labelled) stays out of the means
    part = None
    if splits is not None:
        part = labels["video_id"].map(splits.set_index("video_id")[part_column(splits)]).astype(str)
    if aus:
        au = pd.DataFrame(presence, columns=aus, index=labels.index)
        rates = 100 * au.mean()
        fig, ax = plt.subplots(figsize=(7, 3))
        if part is not None:
            per = 100 * au.groupby(part).mean()
            per.T.plot.bar(ax=ax, width=0.8)
            ax.legend(title="split")
        else:
            rates.plot.bar(ax=ax, color="#4C72B0")
        ax.set_ylabel("% of frames")
        ax.set_title("Action Units")
        figs.append(("AU occurrence", out / "au_rates.png", _fig_to_png(fig, out / "au_rates.png")))
    expr_ok = table.labelled("expr")[:, 0]
    if expr_ok.any():
        e = pd.Series(table.expr()[expr_ok].astype(int))
        counts = e.value_counts().reindex(range(len(s.expressions)), fill_value=0)
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.bar(s.expressions, counts.to_numpy(), color="#55A868")
        ax.set_ylabel("frames")
        ax.set_title("Expressions")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        figs.append(("Expression distribution", out / "expressions.png", _fig_to_png(fig, out / "expressions.png")))
    if table.labelled("va")[:, 0].any():
        groups = [("all", labels)] + ([(p, labels[part == p]) for p in sorted(part.dropna().unique())]
                                      if part is not None else [])
        fig, axes = plt.subplots(len(groups), 2, figsize=(8, 2.2 * len(groups)), squeeze=False)
        for r, (name, df) in enumerate(groups):
            for c, dim in enumerate(("valence", "arousal")):
                axes[r, c].hist(df[dim].dropna(), bins=40, range=(-1, 1), color="#C44E52" if c else "#8172B2")
                axes[r, c].set_title(f"{dim} — {name}", fontsize=9)
        fig.tight_layout()
        figs.append(("Valence and arousal", out / "va_hist.png", _fig_to_png(fig, out / "va_hist.png")))
        if aus:
            n = len(aus)
            cols = min(4, n)
            rows = int(np.ceil(n / cols))
            fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
            for i, a in enumerate(aus):
                ax = axes[i // cols, i % cols]
                on = labels[presence[:, i] == 1]
                if len(on) > 2000:
                    on = on.sample(2000, random_state=0)
                ax.scatter(on["valence"], on["arousal"], s=2, alpha=0.4)
                ax.set_xlim(-1, 1)
                ax.set_ylim(-1, 1)
                ax.axhline(0, color="grey", lw=0.5)
                ax.axvline(0, color="grey", lw=0.5)
                ax.set_title(a, fontsize=9)
            for j in range(n, rows * cols):
                axes[j // cols, j % cols].axis("off")
            fig.suptitle("AU occurrences in valence-arousal space")
            fig.tight_layout()
            figs.append(("AUs in VA space", out / "au_va.png", _fig_to_png(fig, out / "au_va.png")))
    cov = face_coverage(ws)
    if len(cov):
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(cov) + 1))
        ax.barh(cov.index, cov["% frames with the subject"], color="#64B5CD")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of frames with the subject's face")
        figs.append(("Face coverage", out / "face_coverage.png", _fig_to_png(fig, out / "face_coverage.png")))
    return figs


def face_coverage(ws: Workspace) -> pd.DataFrame:
    rows = {}
    for vid in ws.video_ids() if ws.has_manifest() else []:
        entry = ws.ledger("faces", vid)
        if entry and entry.get("n_frames"):
            rows[vid] = {"frames": entry["n_frames"], "% frames with the subject":
                         round(100 * entry.get("target_frames", 0) / entry["n_frames"], 1),
                         "tracks": entry.get("n_tracks", 0)}
    return pd.DataFrame.from_dict(rows, orient="index")


def _md(df: pd.DataFrame) -> str:
    return df.to_markdown(floatfmt=".3g")


@writes_workspace("affcurate report")
def report(ws: Workspace) -> ReportPaths:
    """Write ``reports/report.html`` (self-contained), ``reports/report.md`` and ``reports/datacard.md``."""
    table = LabelTable.read(ws)
    out = ws.reports_dir
    splits = io.read_parquet(ws.splits_path) if ws.splits_path.exists() else None
    general, per_au = dataset_summary(table)
    sections: list[tuple[str, pd.DataFrame]] = [("Dataset", general), ("Action Units", per_au)]
    if splits is not None:
        for name, t in summary_tables(ws, splits, table).items():
            sections.append((f"Split — {name}", t))
    agreement_path = ws.root / "agreement.parquet"
    if agreement_path.exists():
        ag = io.read_parquet(agreement_path)
        if len(ag):
            sections.append(("Agreement between annotators (mean over videos)",
                             ag.groupby(["task", "label", "statistic"])["value"].mean().unstack().round(3)))
    cov = face_coverage(ws)
    if len(cov):
        sections.append(("Face coverage", cov))
    figs = _plots(ws, table, splits, out)
    md = ["# Dataset report", ""]
    body = []
    for title, shown in sections:
        md += [f"## {title}", "", _md(shown), ""]
        body.append(f"<h2>{html.escape(title)}</h2>{shown.to_html(border=0, classes='t', na_rep='')}")
    for title, path, data in figs:
        md += [f"## {title}", "", f"![{title}]({path.name})", ""]
        b64 = base64.b64encode(data).decode()
        body.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>affcurate report</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
            "table.t{border-collapse:collapse;margin:.5em 0}table.t td,table.t th{padding:2px 8px;"
            "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}h2{margin-top:1.6em}"
            f"</style></head><body><h1>Dataset report: {html.escape(ws.root.name)}</h1>{''.join(body)}</body></html>")
    html_path, md_path, card = out / "report.html", out / "report.md", out / "datacard.md"
    io.write_text(html_path, page)
    io.write_text(md_path, "\n".join(md))
    io.write_text(card, datacard(ws, splits, general))
    return ReportPaths(html_path, md_path, card, [p for _, p, _ in figs])


def datacard(ws: Workspace, splits: pd.DataFrame | None, general: pd.DataFrame) -> str:
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
             f"Subjects: {ok['subject'].nunique()} ({int(ok['subject'].isna().sum())} videos without a subject).", "",
             "## Annotation protocol",
             f"Tasks: AU ({', '.join(s.labels.aus)}), expressions ({', '.join(s.labels.expressions)}), "
             "valence-arousal in [-1, 1]. Labels are put on the frame grid through each video's frame map; "
             f"valence-arousal is fused by the {s.labels.va_fusion}, AUs by {s.labels.au_fusion} vote, expressions "
             f"by {s.labels.expr_fusion} vote; length tolerance ±{s.labels.length_tolerance} frames; frames without "
             f"the subject's face are {'left out' if s.labels.drop_no_face else 'kept'}.", "",
             "## Annotators"]
    if len(ann):
        t = ann.groupby(["annotator", "task"]).size().rename("videos").reset_index()
        lines += [t.to_markdown(index=False), ""]
    ag_path = ws.root / "agreement.parquet"
    lines += ["## Agreement"]
    if ag_path.exists() and len(ag := io.read_parquet(ag_path)):
        lines += [ag.groupby(["task", "statistic"])["value"].mean().round(3).unstack().to_markdown(), ""]
    else:
        lines += ["One annotator per task: no agreement statistics.", ""]
    lines += ["## Labelled data", general.to_markdown(), "", "## Splits"]
    if splits is not None:
        meta_s = io.parquet_metadata(ws.splits_path)
        lines += [f"Method {meta_s.get('method')}, seed {meta_s.get('seed')}, fractions {meta_s.get('fractions')}, "
                  f"largest AU-rate gap {meta_s.get('max_au_gap_pp', float('nan')):.2f} percentage points. "
                  "Subject-independent: no subject is in two splits.", ""]
    else:
        lines += ["Not split yet (`affcurate split`).", ""]
    lines += ["## Licences", ", ".join(licences) if licences else "Not recorded in the manifest (add a 'licence' "
              "column to the ingest list).", ""]
    return "\n".join(lines)
