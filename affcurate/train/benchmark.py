"""The benchmark tables of a run (``benchmark.md``, ``benchmark.json``), of every run (``runs/benchmark.md``),
and the summary of a cross-validated run over its folds.

A score that cannot be computed is ``None`` in JSON and "n/a" in the tables, and the table says why once per
column and reason under it (the reasons come from the metrics' ``"n/a"`` entries, see
:mod:`affcurate.train.metrics`). Under the models, the row ``chance`` gives each metric's chance level on the
same frames (:mod:`affcurate.train.chance`; of a cross-validated run, its mean over the folds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from affcurate.train.chance import NAME as CHANCE
from affcurate.train.metrics import NA, why_not

COLUMNS = [("au", "f1_mean", "AU mean F1"), ("expr", "accuracy", "EXPR acc"), ("expr", "f1_macro", "EXPR macro-F1"),
           ("expr", "f1_weighted", "EXPR weighted-F1"), ("va", "ccc_valence", "CCC V"), ("va", "ccc_arousal", "CCC A"),
           ("va", "ccc_mean", "CCC mean"), ("va", "pcc_mean", "PCC mean"), ("va", "icc_mean", "ICC mean"),
           ("va", "rmse_mean", "RMSE"), ("va", "sagr_mean", "SAGR")]
VA_DETAIL = [("va", f"{k}_{d}", f"{name} {d[0].upper()}") for k, name in (("rmse", "RMSE"), ("pcc", "PCC"),
                                                                              ("ccc", "CCC"), ("icc", "ICC"))
             for d in ("valence", "arousal")]
ICC_NOTE = ("ICC is ICC(2,1) (Shrout and Fleiss: two-way random effects, absolute agreement, single rater), "
            "prediction and ground truth taken as the two raters; PCC, CCC and ICC are n/a on constant "
            "predictions or labels.")


def _number(v: Any) -> float | None:
    """A metric's value, or None when it is missing or not a finite number (runs of older versions wrote NaN)."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _columns(metrics: dict[str, dict[str, Any]], columns: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The columns of the tasks some model was scored on."""
    return [c for c in columns if any(c[0] in met for met in metrics.values())]


def rows(metrics: dict[str, dict[str, Any]], columns: list[tuple[str, str, str]] | None = None
         ) -> list[dict[str, Any]]:
    """One row per model: ``model``, each column's value (None: not computable) and ``seconds``."""
    cols = _columns(metrics, columns or COLUMNS)
    out = []
    for m, met in metrics.items():
        row: dict[str, Any] = {"model": m}
        for task, key, label in cols:
            v = _number(met.get(task, {}).get(key))
            row[label] = None if v is None else round(v, 4)
        row["seconds"] = met.get("seconds")
        out.append(row)
    return out


def chance_row(levels: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]],
               columns: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    """The chance levels (:func:`affcurate.train.chance.levels`) as a row of :func:`rows`, in the columns of
    ``metrics``."""
    row: dict[str, Any] = {"model": CHANCE}
    for task, key, label in _columns(metrics, columns or COLUMNS):
        v = _number(levels.get(task, {}).get(key))
        row[label] = None if v is None else round(v, 4)
    row["seconds"] = ""  # no model was run: an empty cell, not n/a
    return row


Found = dict[tuple[str, str], dict[str, list[int]]]  # (column, why) → model → folds (empty: not folded)


def reasons(metrics: dict[str, dict[str, Any]], found: Found | None = None, fold: int | None = None,
            columns: list[tuple[str, str, str]] | None = None) -> Found:
    """Add to ``found`` every n/a cell of ``metrics`` (the models of one run or one fold) with its reason."""
    out: Found = {} if found is None else found
    for m, met in metrics.items():
        for task, key, label in _columns(metrics, columns or COLUMNS):
            if task in met and _number(met[task].get(key)) is None:
                why = why_not(met, task, key) or "not computable"
                folds = out.setdefault((label, why), {}).setdefault(m, [])
                if fold is not None:
                    folds.append(fold)
    return out


def na_lines(found: Found, n_folds: int = 0) -> list[str]:
    """``n/a`` footnotes, one per reason and set of models (and folds), naming the columns."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for (label, why), who in found.items():
        names = []
        for m, folds in who.items():
            names.append(m if not n_folds else f"{m} in every fold" if len(folds) == n_folds else
                         f"{m} in fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}")
        grouped.setdefault(("; ".join(names), why), []).append(label)
    return [f"- n/a in {', '.join(labels)} ({who}): {why}" for (who, why), labels in grouped.items()]


def cell(v: Any, std: Any = None, n: int | None = None, of: int | None = None) -> str:
    x = _number(v)
    if x is None:
        return "n/a" if v is None or isinstance(v, float) else str(v)
    text = f"{x:.3f}"
    if std is not None or n is not None:
        s = _number(std)
        text += f" ± {s:.3f}" if s is not None else " ± n/a"
        if n is not None and of is not None and n < of:
            text += f" ({n} of {of})"
    return text


def markdown(header: list[str], body: list[list[str]]) -> str:
    """A Markdown table, text columns left-aligned and the rest right-aligned, padded for the console."""
    width = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    left = {i for i, h in enumerate(header) if h in ("run", "model", "fold", "video", "annotator", "tasks", "call")}

    def fmt(i: int, s: str) -> str:
        return s.ljust(width[i]) if i in left else s.rjust(width[i])

    lines = ["| " + " | ".join(fmt(i, h) for i, h in enumerate(header)) + " |",
             "|" + "|".join(":" + "-" * (w + 1) if i in left else "-" * (w + 1) + ":" for i, w in enumerate(width))
             + "|"]
    lines += ["| " + " | ".join(fmt(i, c) for i, c in enumerate(r)) + " |" for r in body]
    return "\n".join(lines)


def table(found_rows: list[dict[str, Any]]) -> str:
    """``rows`` as Markdown (every key but ``model`` and ``seconds`` a metric column)."""
    if not found_rows:
        return "(no models)"
    header = list(found_rows[0])
    return markdown(header, [[cell(r.get(h)) if h not in ("model", "run", "fold") else str(r.get(h, ""))
                              for h in header] for r in found_rows])


def summarise(per_fold: list[dict[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Mean, sample standard deviation (n − 1) and number of folds of every metric over the folds where it
    could be computed, per model, nested as the metrics are (task → metric). A metric computable in no fold
    is None in the mean, with the reason of its first fold."""
    mean: dict[str, Any] = {}
    std: dict[str, Any] = {}
    count: dict[str, Any] = {}
    for m in per_fold[0] if per_fold else {}:
        folds = [f[m] for f in per_fold if m in f]
        mean[m], std[m], count[m] = {}, {}, {}
        tasks = {t for f in folds for t, v in f.items() if isinstance(v, dict) and t not in ("model", "throughput", "trained_on")}
        for t in sorted(tasks):
            keys = sorted({k for f in folds for k, v in f.get(t, {}).items() if k != NA})
            mean[m][t], std[m][t], count[m][t] = {}, {}, {}
            why: dict[str, str] = {}
            for k in keys:
                vals = [x for x in (_number(f.get(t, {}).get(k)) for f in folds) if x is not None]
                mean[m][t][k] = float(np.mean(vals)) if vals else None
                std[m][t][k] = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
                count[m][t][k] = len(vals)
                if not vals:
                    why[k] = next((why_not(f, t, k) for f in folds if why_not(f, t, k)), "not computable")
            if why:
                mean[m][t][NA] = why
        secs = [x for x in (_number(f.get("seconds")) for f in folds) if x is not None]
        mean[m]["seconds"] = round(float(np.mean(secs)), 2) if secs else None
        std[m]["seconds"] = round(float(np.std(secs, ddof=1)), 2) if len(secs) > 1 else None
    return mean, std, count


def fold_table(per_fold: list[dict[str, dict[str, Any]]], mean: dict[str, Any], std: dict[str, Any],
               count: dict[str, Any], columns: list[tuple[str, str, str]] | None = None,
               chance: dict[str, dict[str, Any]] | None = None) -> tuple[str, list[str]]:
    """The cross-validation table (each model's mean ± std, the mean chance level over the folds, then each
    model's row in every fold) and its n/a notes."""
    cols = _columns(mean, columns or COLUMNS)
    k = len(per_fold)
    header = ["model", "fold"] + [label for _, _, label in cols] + (["seconds"] if columns is None else [])
    body = []
    for m in mean:
        body.append([m, "mean ± std"] + [cell(mean[m].get(t, {}).get(key), std[m].get(t, {}).get(key),
                                              count[m].get(t, {}).get(key, 0), k) for t, key, _ in cols]
                    + ([cell(mean[m]["seconds"], std[m]["seconds"])] if columns is None else []))
    if chance is not None:
        row = chance_row(chance, mean, columns)
        body.append([CHANCE, "mean"] + [cell(row[label]) for _, _, label in cols] + ([""] if columns is None else []))
    for m in mean:
        for i, f in enumerate(per_fold):
            met = f.get(m, {})
            body.append([m, str(i)] + [cell(met.get(t, {}).get(key)) for t, key, _ in cols]
                        + ([cell(met.get("seconds"))] if columns is None else []))
    found: Found = {}
    for i, f in enumerate(per_fold):
        reasons(f, found, i, columns)
    return markdown(header, body), na_lines(found, k)


def mean_rows(mean: dict[str, Any], std: dict[str, Any], n_folds: int) -> tuple[list[dict[str, Any]],
                                                                                list[dict[str, Any]]]:
    """Rows of the means (what ``runs/benchmark.md`` shows of a cross-validated run) and of the stds."""
    means = rows(mean)
    stds = rows({m: {**s, "seconds": s.get("seconds")} for m, s in std.items()})
    for r in means:
        r["folds"] = n_folds
    return means, stds
