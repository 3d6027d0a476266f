"""The report's plots (PNG files beside the report, embedded in the HTML page) and the face coverage table."""

from __future__ import annotations

import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from affcurate import io  # noqa: E402
from affcurate.imagesets.samples import part_of
from affcurate.labels.table import LabelTable  # noqa: E402
from affcurate.splits.check import part_column  # noqa: E402
from affcurate.workspace import Workspace  # noqa: E402


def _fig_to_png(fig: plt.Figure, path: Path) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    io.write_bytes(path, data)
    return data


def plots(ws: Workspace, table: LabelTable, splits: pd.DataFrame | None, out: Path) -> list[tuple[str, Path, bytes]]:
    """Write the plots of the kept frames under ``out``: (title, path, PNG bytes) of each."""
    s = ws.settings.labels
    figs: list[tuple[str, Path, bytes]] = []
    labels = table.frame
    aus = list(table.aus)
    presence = table.au_presence().astype(np.float64)  # NaN (not labelled) stays out of the means
    part = None
    if splits is not None:
        part = part_of(splits, labels, part_column(splits)).astype(str)  # images of an image set: per frame
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
    """Per video with faces: its frames, the share with the subject's face, and its tracks."""
    rows = {}
    for vid in ws.video_ids() if ws.has_manifest() else []:
        entry = ws.ledger("faces", vid)
        if entry and entry.get("n_frames"):
            rows[vid] = {"frames": entry["n_frames"], "% frames with the subject":
                         round(100 * entry.get("target_frames", 0) / entry["n_frames"], 1),
                         "tracks": entry.get("n_tracks", 0)}
    return pd.DataFrame.from_dict(rows, orient="index")


def track_sheets(ws: Workspace, out: Path) -> tuple[pd.DataFrame, list[tuple[str, Path]], list[str]]:
    """The track sheet (``out/tracks/<video>.png``) of every video with more than one face track: a table of
    them (tracks, subject track, sheet relative to ``out``), (video, path) of each sheet, and one line per video
    whose sheet could not be drawn (its video file gone, say)."""
    from affcurate.errors import AffcurateError
    from affcurate.faces.sheet import track_sheet
    from affcurate.faces.table import FaceTracks

    rows, sheets, problems = {}, [], []
    for vid in ws.video_ids() if ws.has_manifest() else []:
        if len(FaceTracks.read_or_empty(ws, vid).track_ids) < 2:
            continue
        try:
            sheet = track_sheet(ws, vid, out / "tracks" / f"{vid}.png")
        except AffcurateError as exc:  # one video's missing file leaves the others' sheets and the report
            problems.append(str(exc))
            continue
        rows[vid] = {"tracks": len(sheet.tracks), "subject track": sheet.subject,
                     "sheet": sheet.path.relative_to(out).as_posix()}
        sheets.append((vid, sheet.path))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["tracks", "subject track", "sheet"])
    table["subject track"] = table["subject track"].astype("Int64")  # a video may have no subject
    return table.rename_axis("video"), sheets, problems
