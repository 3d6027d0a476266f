"""What a finished run writes for people to read: ``benchmark.md`` (also what the command prints),
``benchmark.json``, ``MODEL_CARD.md``, and ``runs/benchmark.md`` (every run side by side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from affcurate import io
from affcurate.train import benchmark, chance, checkpoint
from affcurate.train.benchmark import COLUMNS, ICC_NOTE, VA_DETAIL
from affcurate.train.checkpoint import DamagedFile
from affcurate.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

    from affcurate.train.runner import TrainResult

NO_VAL = ("No validation frames: the torch baselines keep their last epoch (there is nothing to choose the best "
          "by) and AU thresholds stay at 0.5.")


def _protocol(config: dict[str, Any], test_name: str) -> str:
    k = config["folds"]
    if k:
        val = ("validated on fold k + 1 (mod K)" if config["validation"] else
               "without validation (--no-val: the next fold is trained on)")
        return (f"**{k}-fold cross-validation**: each fold k is scored on its test fold, {val}, and trained on "
                f"the other folds; epochs {config['epochs']}, seed {config['seed']}.")
    return f"Scored on the **{test_name}** split; epochs {config['epochs']}, seed {config['seed']}."


def _few_subjects(parts: list[dict[str, Any]]) -> str | None:
    """A line when a train or test part has fewer than 2 subjects: its scores say little about other people."""
    few = [(p, k) for p in parts for k in ("train", "test") if p["frames"][k] and p["subjects"].get(k, 2) < 2]
    if not few:
        return None
    named = [f"the {k} part" + (f" of fold {p['fold']}" if p["fold"] is not None else "") for p, k in few]
    where = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return (f"Few subjects: one subject only in {where}. Such scores measure how a model of one person carries "
            "over to another (or to the same person): they vary a lot and say little about new people.")


def _partial(counts: dict[str, Any], k: int) -> bool:
    """Whether some metric could be computed in some folds only."""
    return any(0 < n < k for tasks in counts.values() for per in tasks.values() if isinstance(per, dict)
               for n in per.values())


def _caveats(parts: list[dict[str, Any]]) -> list[str]:
    """What makes the scores weaker than they look (also shown under runs/benchmark.md)."""
    lines = [NO_VAL] if any(p["frames"]["val"] == 0 for p in parts) else []
    few = _few_subjects(parts)
    return lines + ([few] if few else [])


def _notes(config: dict[str, Any], tasks: list[str], parts: list[dict[str, Any]], na: list[str],
           partial: bool) -> list[str]:
    lines = []
    if config["folds"]:
        k = config["folds"]
        lines.append(f"mean ± std over the {k} folds (sample std, n − 1)." + (
            f" \"(n of {k})\": the mean over the n folds where it could be computed." if partial else ""))
    lines += _caveats(parts)
    if config.get("va_bins") and "va" in tasks:
        lines.append(f"VA loss weighted by the inverse frequency of each frame's valence-arousal bin pair "
                     f"({config['va_bins']} bins per axis over [-1, 1]; cnn, cnn-gru and linear).")
    if "va" in tasks:
        lines.append(ICC_NOTE)
    if na:
        lines.append("n/a: a score that cannot be computed (never printed as a number):")
        lines += na
    return lines


def chance_levels(config: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The chance levels shown beside the run's scores: of its scored part, or their mean over the folds; None
    for a run of an older version that did not record them."""
    levels = [p["chance"] for p in parts if "chance" in p]
    if len(levels) != len(parts) or not levels:
        return None
    return chance.mean(levels) if config["folds"] else levels[0]


def _results(result: TrainResult, config: dict[str, Any], columns: list[tuple[str, str, str]] | None = None,
             levels: dict[str, dict[str, Any]] | None = None) -> tuple[str, list[str]]:
    """The results table of the run (cross-validated: means ± std and every fold), with the chance row when
    ``levels`` are known, and its n/a lines."""
    if config["folds"]:
        return benchmark.fold_table(result.folds, result.metrics, result.std, result.counts, columns, levels)
    found = benchmark.reasons(result.metrics, columns=columns)
    rows = benchmark.rows(result.metrics, columns)
    if levels is not None and rows:
        rows.append(benchmark.chance_row(levels, result.metrics, columns))
    if columns is not None:
        for r in rows:
            r.pop("seconds", None)
    return benchmark.table(rows), benchmark.na_lines(found)


def write(ws: Workspace, run: Path, config: dict[str, Any], tasks: list[str], result: TrainResult,
          parts: list[dict[str, Any]], test_name: str, note: Callable[[str], None]) -> None:
    """Write the run's tables and model card, then ``runs/benchmark.md``. ``parts``: per training (the run, or
    each fold) its ``fold``, ``val_fold``, and ``frames`` and ``subjects`` per train / val / test."""
    levels = chance_levels(config, parts)
    table, na = _results(result, config, levels=levels)
    notes = _notes(config, tasks, parts, na, _partial(result.counts, config["folds"]))
    if levels is not None:
        notes.insert(0, chance.NOTE + (" Of the folds: the mean of their chance levels." if config["folds"] else ""))
    io.write_text(run / "benchmark.md", f"# Baselines\n\n{_protocol(config, test_name)}\n\n{table}\n"
                  + "".join(f"\n{line}" for line in notes) + ("\n" if notes else ""))
    saved: dict[str, Any] = {"config": config, "notes": notes, "caveats": _caveats(parts), "n/a": na}
    if config["folds"]:
        means, stds = benchmark.mean_rows(result.metrics, result.std, config["folds"])
        per_fold = [{"fold": i, **r} for i, f in enumerate(result.folds) for r in benchmark.rows(f)]
        saved.update(rows=means, std=rows_by_model(stds), per_fold=per_fold,
                     summary={m: {"mean": result.metrics[m], "std": result.std[m], "folds": result.counts[m]}
                              for m in result.metrics})
    else:
        saved["rows"] = benchmark.rows(result.metrics)
    if levels is not None:  # beside the rows, not among them: a chance level is no model
        saved["chance"] = {k: v for k, v in benchmark.chance_row(levels, result.metrics).items()
                           if k not in ("model", "seconds")}
        saved["chance_levels"] = levels
    io.write_json(run / "benchmark.json", saved)
    io.write_text(run / "MODEL_CARD.md", model_card(ws, config, tasks, result, parts, table, notes)
                  + prelabelled_section(run))
    all_runs(ws, note)


def rows_by_model(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in rows}


def all_runs(ws: Workspace, note: Callable[[str], None]) -> None:
    """``runs/benchmark.md``: every run's baselines side by side (a cross-validated run: its means)."""
    found: list[dict[str, Any]] = []
    shown: list[tuple[int, dict[str, Any]]] = []  # chance rows, each after the rows of its run (Markdown only)
    said: list[str] = []
    for p in sorted(ws.runs_dir.glob("[!.]*/benchmark.json")):  # not the temporaries of a run being replaced
        try:
            whole = checkpoint.read_json(p)
            saved = whole.get("rows")
            if not isinstance(saved, list) or not all(isinstance(r, dict) for r in saved):
                raise DamagedFile(p, "no list of rows")
        except DamagedFile as exc:
            note(f"{exc}: left out of {ws.runs_dir / 'benchmark.md'}")
            continue
        found += [{"run": p.parent.name, **r} for r in saved]
        if isinstance(whole.get("chance"), dict) and saved:
            shown.append((len(found), {"run": p.parent.name, "model": chance.NAME, **whole["chance"]}))
        lines = [x for x in [*whole.get("caveats", []), *whole.get("n/a", [])] if isinstance(x, str)]
        said += [f"{p.parent.name}:", *(x if x.startswith("- ") else f"- {x}" for x in lines)] if lines else []
    if not found:
        return
    present = {k for r in found for k in r}
    order = [c for c in ["run", "model", "folds"] + [label for _, _, label in COLUMNS] + ["seconds"] if c in present]
    rows = [{c: r.get(c) for c in order} for r in found]
    table_rows = list(rows)
    for at, r in reversed(shown):
        table_rows.insert(at, {c: r.get(c, "" if c in ("folds", "seconds") else None) for c in order})
    text = benchmark.markdown(order, [[str(r[c] or "") if c in ("run", "model", "folds") else benchmark.cell(r[c])
                                       for c in order] for r in table_rows])
    io.write_text(ws.runs_dir / "benchmark.md", "# All baseline runs\n\nA run with folds shows its mean over the "
                  "folds (its own benchmark.md has the std and every fold). n/a: a score that cannot be computed; "
                  f"why, per run, under the table. {chance.NOTE}\n\n{text}\n" + "".join(f"\n{x}" for x in said)
                  + ("\n" if said else ""))
    io.write_json(ws.runs_dir / "benchmark.json", rows)


def _data(config: dict[str, Any], parts: list[dict[str, Any]]) -> list[str]:
    def count(p: dict[str, Any], k: str) -> str:
        return f"{p['frames'][k]} ({p['subjects'][k]})" if k in p["subjects"] else str(p["frames"][k])

    if not config["folds"]:
        p = parts[0]
        return [f"Frames (subjects): train {count(p, 'train')}, validation {count(p, 'val')}, test "
                f"{count(p, 'test')}; splits are subject-independent (splits.parquet)."]
    body = [[str(p["fold"]), "none" if p["val_fold"] is None else str(p["val_fold"]), count(p, "train"),
             count(p, "val"), count(p, "test")] for p in parts]
    return [f"{config['folds']} subject-independent folds (splits.parquet); frames (subjects) per fold, each "
            "fold's videos in fold-<k>/config.json:", "",
            benchmark.markdown(["fold", "validation fold", "train", "validation", "test"], body), ""]


LINEAR = (" The linear baseline reads dlib's 68 landmarks of each aligned crop (translation, scale and rotation "
          "normalised), the faces stage's five points and HOG of the crop.")


NORMS = (" The BatchNorm layers of {models} normalise each video by its own statistics (batches of one video in "
         "training, the video's crops when predicting): a new person is read relative to their own video, and a video "
         "showing one expression throughout reads as that person's average face.")


def _norms(config: dict[str, Any]) -> str:
    torch_models = [m for m in config["models"] if m in ("cnn", "cnn-gru")]
    if not torch_models or str(config.get("backbone") or "").startswith("onnx:"):  # a frozen extractor: no BatchNorm
        return ""
    return NORMS.format(models=" and ".join(torch_models))


def _origin(config: dict[str, Any]) -> str:
    """Where the models' weights start from: scratch, or the pretrained backbone of ``--backbone``."""
    if not config.get("backbone"):
        return "trained from scratch"
    kind, _, path = str(config["backbone"]).partition(":")
    how = "fine-tuned" if kind == "resnet18" else "run frozen, a head trained on its features"
    return (f"trained from scratch but for cnn and cnn-gru, which start from the pretrained {kind} backbone "
            f"`{path}` (sha256 {config.get('backbone_sha256')}…, {how})")


def model_card(ws: Workspace, config: dict[str, Any], tasks: list[str], result: TrainResult,
               parts: list[dict[str, Any]], table: str, notes: list[str]) -> str:
    s = ws.settings
    frames = [p["frames"] for p in parts]
    choose = ("Best epoch by the validation score; AU thresholds tuned on validation." if all(f["val"] for f in frames)
              else NO_VAL if not any(f["val"] for f in frames) else
              "Best epoch by the validation score and AU thresholds tuned on validation where there are "
              "validation frames; elsewhere: " + NO_VAL)
    weights = (f" The VA loss of each training frame is weighted by the inverse frequency of its (valence bin, "
               f"arousal bin) pair, {config['va_bins']} equal bins per axis over [-1, 1], normalised to mean 1 "
               "(seed 004); each pair's frames and weight are in config.json (va_bins_table)." if config.get("va_bins") and "va" in tasks else "")
    lines = [
        f"# Model card: {result.run_dir.name}", "",
        "## What", f"Baselines {', '.join(config['models'])} for the tasks {', '.join(tasks)} "
        f"(skipped: {', '.join(result.skipped_tasks) or 'none'}), {_origin(config)} on the aligned "
        f"{s.faces.crop_size}×{s.faces.crop_size} crops of this workspace, resized to {config['input_size']}."
        + (LINEAR if "linear" in config["models"] else ""), "",
        "## Data", *_data(config, parts),
        f"AUs: {', '.join(s.labels.aus)}. Expressions: {', '.join(s.labels.expressions)}.", "",
        "## Training", f"Epochs {config['epochs']}, batch {config['batch_size']}, learning rate {config['lr']}, "
        f"seed {config['seed']}. Losses: AU binary cross-entropy (positives weighted by each AU's negatives-to-"
        "positives ratio), expression class-weighted cross-entropy, valence-arousal 1 − CCC plus the squared error."
        + weights + " " + choose + _norms(config), "",
        "## Results", table, "", *notes, "",
    ]
    if "va" in tasks:
        va_table, _ = _results(result, config, VA_DETAIL, chance_levels(config, parts))
        lines += ["### Valence and arousal", "RMSE, PCC, CCC and ICC per dimension (V: valence, A: arousal).", "",
                  va_table, ""]
    lines += ["## Limits", "Small models trained on one workspace: a measure of how learnable the labels are, not a "
              "product. Scores on few subjects vary a lot between splits.", ""]
    return "\n".join(lines)


PRELABELLED = "## Pre-labelled videos"


def prelabelled_section(run: Path) -> str:
    """The model card's list of the videos ``affcurate predict`` pre-labelled with this run (from
    ``predictions.json``), or nothing before the first."""
    path = run / "predictions.json"
    if not path.exists():
        return ""
    try:
        done = checkpoint.read_json(path).get("prelabelled", [])
    except DamagedFile as exc:
        return f"\n{PRELABELLED}\n{exc}: the list cannot be shown.\n"
    lines = ["", PRELABELLED, "Machine annotations (source `model`, with a per-frame confidence) written by "
             "`affcurate predict`, each with the last call that wrote its tables. The desk shows them read-only; "
             "merge leaves them out unless `--machine fallback|fuse`.", ""]
    body = [[str(e.get("video", "")), str(e.get("annotator", "")), ", ".join(map(str, e.get("tasks", []))),
             f"`{e.get('call', '')}`"] for e in done if isinstance(e, dict)]
    lines.append(benchmark.markdown(["video", "annotator", "tasks", "call"], body) if body else "(none)")
    return "\n".join(lines) + "\n"


def write_prelabelled(run: Path) -> None:
    """Put the current list of pre-labelled videos into ``MODEL_CARD.md`` in place of the old one."""
    path = run / "MODEL_CARD.md"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Model card: {run.name}\n"
    at = text.find("\n" + PRELABELLED + "\n")
    if at >= 0:  # the section is the card's last: everything from its title on is replaced
        text = text[:at + 1].rstrip("\n") + "\n"
    new = text + prelabelled_section(run)
    if not path.exists() or new != path.read_text(encoding="utf-8"):
        io.write_text(path, new)
