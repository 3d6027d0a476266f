"""The dataset card (``README.md``) of a Hugging Face export: the YAML header the Hub reads (licence, task
categories, size, ``configs`` with each split's files, ``dataset_info`` with the features and the splits), how
to load it, its columns and splits, then the workspace's datacard (``reports/datacard.md``) or a short summary."""

from __future__ import annotations

import json
import re
from typing import Any

from affcurate.exports.frames import Frames
from affcurate.workspace import Workspace

# licence ids the Hub knows (https://huggingface.co/docs/hub/repositories-licenses), the ones data sets use
HUB_LICENCES = frozenset({
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "gpl-2.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0",
    "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0",
    "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "odbl", "odc-by", "pddl", "cdla-permissive-1.0", "cdla-permissive-2.0",
    "cdla-sharing-1.0", "c-uda", "unlicense", "wtfpl", "openrail", "other", "unknown"})
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
WHAT = {"image": "the aligned face crop (RGB, PNG)", "video_id": "the source video", "frame":
        "frame of the video's {fps:g} fps grid", "subject": "the person filmed",
        "split": "train / val / test (or fold<k>)", "fold": "cross-validation fold", "licence":
        "the source video's licence, as the ingest list gave it", "au_mask": "per AU (in the order of the AU "
        "columns): is it labelled", "expr": "the expression class", "expr_mask": "is the expression labelled",
        "valence": "valence in [-1, 1]", "arousal": "arousal in [-1, 1]", "va_mask": "are valence, arousal labelled"}


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML of dicts, lists and scalars; strings are written as JSON strings (valid YAML)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            key = k if _KEY.fullmatch(str(k)) else json.dumps(str(k))
            if isinstance(v, (dict, list)) and v:
                lines += [f"{pad}{key}:", *_yaml(v, indent + (0 if isinstance(v, list) else 1))]
            else:
                lines.append(f"{pad}{key}: {_scalar(v)}")
        return lines
    if isinstance(value, list):
        lines = []
        for v in value:
            inner = _yaml(v, indent + 1) if isinstance(v, (dict, list)) else [f"{pad}  {_scalar(v)}"]
            lines.append(f"{pad}- {inner[0].strip()}")
            lines += inner[1:]
        return lines
    return [f"{pad}{_scalar(value)}"]


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list)):
        return "{}" if isinstance(v, dict) else "[]"
    return json.dumps(str(v), ensure_ascii=False)


def _feature_yaml(name: str, feature: dict) -> dict:
    kind = feature["_type"]
    if kind == "Image":
        return {"name": name, "dtype": "image"}
    if kind == "ClassLabel":
        return {"name": name, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(feature["names"])}}}}
    if kind == "Sequence":
        return {"name": name, "sequence": feature["feature"]["dtype"], "length": feature["length"]}
    return {"name": name, "dtype": feature["dtype"]}


def hub_licence(given: list[str]) -> dict[str, Any]:
    """The ``license`` entry (and ``license_name`` for one the Hub does not know) of the licences given."""
    if not given:
        return {"license": "unknown"}
    ids = sorted({re.sub(r"[\s_]+", "-", g.strip().lower()) for g in given})
    if all(i in HUB_LICENCES for i in ids):
        return {"license": ids[0] if len(ids) == 1 else ids}
    name = re.sub(r"[^a-z0-9.-]+", "-", "-".join(ids)).strip("-")[:100] or "other"
    return {"license": "other", "license_name": name}


def _size(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def header(ws: Workspace, frames: Frames, cols: list, sizes: dict[str, tuple[int, int]]) -> dict[str, Any]:
    lab = frames.labels
    categories = (["image-classification"] if lab.has_task("au") or lab.has_task("expr") else []) + (
        ["other"] if lab.has_task("va") and not (lab.has_task("au") or lab.has_task("expr")) else [])
    task_ids = (["multi-label-image-classification"] if lab.has_task("au") else []) + (
        ["multi-class-image-classification"] if lab.has_task("expr") else [])
    tags = ["facial-affect", "faces", "affcurate"] + [t for task, t in (("au", "action-units"), (
        "expr", "facial-expression"), ("va", "valence-arousal")) if lab.has_task(task)]
    splits = [{"name": s, "num_bytes": sizes[s][0], "num_examples": int((frames.keys["split"] == s).sum())}
              for s in frames.splits]
    return {**hub_licence(sorted(set(frames.licences.values()))), "pretty_name": ws.root.name,
            "task_categories": categories, **({"task_ids": task_ids} if task_ids else {}), "tags": tags,
            "size_categories": [_size(len(frames))],
            "configs": [{"config_name": "default",
                         "data_files": [{"split": s, "path": f"data/{s}-*"} for s in frames.splits]}],
            "dataset_info": {"features": [_feature_yaml(n, f) for n, _, f in cols], "splits": splits,
                             "download_size": sum(b for _, b in sizes.values()),
                             "dataset_size": sum(a for a, _ in sizes.values())}}


def _table(rows: list[list[str]], head: list[str]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def card(ws: Workspace, frames: Frames, cols: list, sizes: dict[str, tuple[int, int]],
         datacard: str | None) -> str:
    """The whole README.md: YAML header, then the text."""
    lab, keys = frames.labels, frames.keys
    what = {**WHAT, "frame": WHAT["frame"].format(fps=ws.settings.fps)}
    for a in lab.aus:
        what[a], what[f"{a}_intensity"] = f"{a} present (1) or absent (0)", f"{a} intensity 0-5"
    rows = [[f"`{n}`", what.get(n, ""), "image" if f["_type"] == "Image" else f.get("dtype") or (
        "class label" if f["_type"] == "ClassLabel" else f"{f['length']} × bool")] for n, _, f in cols]
    per_split = [[s, str(int((keys["split"] == s).sum())), str(keys.loc[keys["split"] == s, "video_id"].nunique()),
                  str(keys.loc[keys["split"] == s, "subject"].nunique())] for s in frames.splits]
    classes = ", ".join(f"{i} {n}" for i, n in enumerate(ws.settings.labels.expressions))
    lines = ["---", *_yaml(header(ws, frames, cols, sizes)), "---", "", f"# {ws.root.name}", "",
             f"Aligned face crops with facial-affect labels ({', '.join(lab.tasks)}), {len(frames)} frames of "
             f"{keys['video_id'].nunique()} videos, curated and exported with affcurate "
             "(`affcurate export WS OUT --format hf`).", "",
             "## Loading", "", "```python", "from datasets import load_dataset", "",
             'ds = load_dataset("path/to/this/folder")  # or the Hub repository id',
             'ds["train"][0]["image"]                  # a PIL image of the aligned crop', "```", "",
             "A label is null where it is not labelled; the masks say the same per task, for training code "
             "that masks its losses.", "", "## Columns", "", *_table(rows, ["column", "what", "type"]), ""]
    if lab.has_task("expr"):
        lines += [f"Expression classes: {classes}.", ""]
    lines += ["## Splits", "", *_table(per_split, ["split", "frames", "videos", "subjects"]), ""]
    if frames.left_out:
        lines += ["Labelled frames left out: " + "; ".join(f"{n} {why}" for why, n in frames.left_out.items()) + ".",
                  ""]
    if datacard:
        # the datacard's headings one level down, under this card's title
        lines += [re.sub(r"^#", "##", line) if line.startswith("#") else line for line in datacard.splitlines()]
    else:
        lic = sorted(set(frames.licences.values()))
        lines += ["## About the data", "",
                  f"{keys['subject'].nunique()} subjects. Licences: {', '.join(lic) or 'not recorded in the manifest'}. "
                  "`affcurate report WS` writes a full datacard (sources, annotation protocol, annotators, "
                  "agreement); export again to include it."]
    return "\n".join(lines).rstrip("\n") + "\n"
