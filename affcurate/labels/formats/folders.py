"""Expression folders (seed 000): clips gathered in one folder per emotion, ``CLIPS/happy/clip.mp4``. Each video's
folder name becomes its expression on every frame of the clip, in the workspace's classes.

The path is one of:

- the workspace's ``manifest.parquet`` (or the workspace folder): each video's ``label``, as
  ``ingest --label-from-folder`` (or a list's ``label`` column) filled it;
- the source folder given to ``ingest --videos``: each ingested video below it takes the name of the folder it
  lies in, whether or not ingest kept it as its label.

Names match ``labels.expressions`` case-insensitively, by the class's name or a common synonym (happy →
Happiness, angry → Anger, sad → Sadness, surprised → Surprise, scared → Fear, disgusted → Disgust, …); a leading
number and punctuation are ignored (``03_sad``). A name that matches no class is refused with the classes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from affcurate import io
from affcurate.errors import InputError
from affcurate.labels.formats import Format, ImportContext, register, shown
from affcurate.labels.model import Annotation, validate
from affcurate.media.manifest import real_path

ANNOTATOR = "folder"
SYNONYMS = {
    "neutral": ("neutral", "neu"),
    "happiness": ("happiness", "happy", "hap", "joy", "joyful"),
    "sadness": ("sadness", "sad", "sorrow", "unhappy"),
    "anger": ("anger", "angry", "ang", "mad", "rage"),
    "surprise": ("surprise", "surprised", "sur", "surprising"),
    "fear": ("fear", "fearful", "fea", "scared", "afraid"),
    "disgust": ("disgust", "disgusted", "dis", "disgusting"),
    "contempt": ("contempt", "contemptuous", "con"),
    "other": ("other", "others"),
}
_CONCEPT = {word: concept for concept, words in SYNONYMS.items() for word in words}


def _key(name: str) -> str:
    """A folder or class name as compared: lower case letters only (``03_Happy`` → ``happy``)."""
    return re.sub(r"[^a-z]", "", name.lower())


def _concept(name: str) -> str:
    k = _key(name)
    return _CONCEPT.get(k, k)


def class_of(name: str, classes: list[str] | tuple[str, ...]) -> int | None:
    """The index of the class a folder name means, or None."""
    concept = _concept(name)
    for i, c in enumerate(classes):
        if _concept(c) == concept:
            return i
    return None


def _labels(path: Path, ctx: ImportContext) -> tuple[Path, pd.Series]:
    """(the file to name in messages, each video's folder name by video id)."""
    manifest = path / "manifest.parquet" if path.is_dir() else path
    if path.is_file() or manifest.exists():
        try:
            m = io.read_parquet(manifest)
        except (OSError, ValueError) as exc:
            raise InputError(manifest, f"not a readable manifest ({exc}); expected a workspace's manifest.parquet, "
                                       "a workspace folder or the folder of emotion folders") from None
        if not {"video_id", "label", "status"} <= set(m.columns):
            raise InputError(manifest, "not a workspace manifest, expected the columns video_id, label and status")
        m = m[(m["status"] == "ok") & m["label"].notna()]
        if m.empty:
            raise InputError(manifest, "no ingested video has a label; ingest with --label-from-folder (or a list "
                                       "with a 'label' column), or give the folder of emotion folders")
        return manifest, pd.Series(m["label"].astype(str).to_numpy(), index=m["video_id"].astype(str).to_numpy())
    root = real_path(path)
    m = ctx.manifest()
    m = m[m["status"] == "ok"] if "path" in m.columns else m.iloc[:0]
    names = {}
    for vid, p in m["path"].items() if len(m) else []:
        src = Path(str(p))
        if src.is_relative_to(root) and src.parent != root:
            names[str(vid)] = src.parent.name
    if not names:
        raise InputError(path, "no ingested video lies in a folder below it; expected the folder given to "
                               "`affcurate ingest --videos` with one folder per expression")
    return path, pd.Series(names)


def _n_frames(ctx: ImportContext, vid: str) -> int | None:
    """Frames of the video's grid (the manifest's ``out_frames``, else its frame map); None if not ingested."""
    m = ctx.manifest()
    if vid not in m.index:
        return None
    n = m.loc[vid, "out_frames"] if "out_frames" in m.columns else None
    if n is None or pd.isna(n):
        path = ctx.ws.frames_path(vid)
        return len(io.read_parquet(path, columns=["frame"])) if path.exists() else None
    return int(n)


def read(path: Path, ctx: ImportContext) -> list[Annotation]:
    if ctx.task not in (None, "expr"):  # folders name expressions only
        return []
    where, labels = _labels(Path(path), ctx)
    classes = list(ctx.settings.expressions)
    index = labels.map(lambda name: class_of(name, classes))
    bad = index.isna()
    if bad.any():
        names = list(dict.fromkeys(labels[bad]))
        more = f" (and {len(names) - 1} more name(s))" if len(names) > 1 else ""
        raise InputError(where, f"folder name {shown(names[0])} (video {labels.index[bad][0]}){more} is no "
                                f"expression class; expected one of {', '.join(classes)} (labels.expressions) or a "
                                "common synonym (happy, sad, angry, surprised, scared, disgusted)")
    out = []
    for vid, k in index.items():
        n = _n_frames(ctx, vid)
        # one interval over the whole clip; a video the workspace lacks keeps one frame, reported as unmatched
        data = pd.DataFrame({"start": [0], "end": [max((n or 1) - 1, 0)], "expr": np.array([k], np.int64)})
        a = Annotation(vid, "expr", ctx.annotator or ANNOTATOR, data, source="folders", clock="grid",
                       time_base="frame", fps=None, shape="intervals", complete=True, origin=str(where))
        out.append(validate(a, ctx.settings))
    return out


register(Format(
    "folders",
    "Expression folders (seed 000): each video's folder name as its expression on every frame, annotator "
    "'folder'. PATH: the workspace's manifest.parquet (labels from ingest --label-from-folder), the workspace, "
    "or the folder of emotion folders. Names match labels.expressions case-insensitively or by synonym "
    "(happy→Happiness, angry→Anger, sad→Sadness, surprised→Surprise, scared→Fear, disgusted→Disgust)",
    read))
