"""Workspace settings: plain frozen dataclasses read from ``affcurate.toml`` and validated once on load.

The defaults live here, in the dataclasses; ``schemas/settings.schema.json`` states the same keys, types and
defaults for other tools (a test keeps the two equal).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import tomli_w

from affcurate.errors import AffcurateError
from affcurate.usertext import (  # noqa: F401 - read by the recipe code from here
    dotted,
    first_non_finite,
    read_text,
    read_toml,
    schema_error,
    toml_line,
)

# schemas/ and pipelines/ at the top of the repository are the source; the package carries them in _data/
DATA = files("affcurate") / "_data"

# Union of the AU sets of the seeds (1 2 4 6 12 15 20 25) and of both ABAW editions.
DEFAULT_AUS = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU20", "AU23", "AU24", "AU25", "AU26")
# The ABAW order of the basic expressions, plus Other.
DEFAULT_EXPRESSIONS = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")


@dataclass(frozen=True)
class IngestSettings:
    fps: float = 30.0
    """Constant frame rate of every transcoded video."""
    max_height: int = 0
    """Downscale taller videos to this height (0 keeps the source size)."""
    keep_audio: bool = True
    """Keep the sound in the 30 fps file, on the frame map's clock (silence where the source has none)."""
    image_fps: float = 0.0
    """Frame rate of folders of numbered images (0: the workspace fps)."""
    crf: int = 18
    preset: str = "veryfast"
    encoder_threads: int = 2
    """x264 threads, fixed rather than taken from the machine so that reruns encode alike."""
    jobs: int = 1


@dataclass(frozen=True)
class FacesSettings:
    detector: str = "centerface"
    """centerface (default, weights shipped), blazeface, or fan (68 landmarks, weights must be on disk)."""
    min_score: float = 0.5
    min_face: int = 16
    """Smallest face side in pixels that is kept."""
    detect_size: int = 320
    """The detector sees each frame scaled so that its longer side is at most this many pixels."""
    refine: bool = True
    """Detect the subject's landmarks again, at a larger scale, on every frame that gets a crop."""
    detect_every: int = 8
    """Run the detector every k frames and carry boxes in between (1 = every frame)."""
    redetect_below: float = 0.6
    """Re-detect before the k-th frame when the carried track's confidence drops below this."""
    target: str = "score"
    """How the subject is chosen: score (presence x size x centrality) or nearest-centre (seed 001)."""
    crop_size: int = 112
    align: str = "five-point"
    """five-point (similarity onto a template) or eye-line (seed 002, needs 68 landmarks)."""
    export_jpeg: bool = False
    """Also write cropped_aligned/<video>/{frame:05d}.jpg in the ABAW layout."""
    max_gap: int = 90
    """Frames a track may be lost and still be re-linked to the same person."""


@dataclass(frozen=True)
class LabelsSettings:
    aus: tuple[str, ...] = DEFAULT_AUS
    expressions: tuple[str, ...] = DEFAULT_EXPRESSIONS
    va_fusion: str = "mean"
    """mean, median or weighted (agreement-weighted)."""
    au_fusion: str = "majority"
    """majority or unanimous."""
    expr_fusion: str = "majority"
    length_tolerance: int = 2
    """Frames a label track may be longer or shorter than its video before it is an error."""
    drop_no_face: bool = True
    """Leave frames without the target face out of the merged labels."""
    va_lag_max: float = 0.0
    """Seconds within which each continuous (VA) rater's reaction lag is compensated before fusion: the rater is
    shifted by the lag that best agrees with the others (0: no compensation)."""
    au_negative_keep: float = 1.0
    """Share of the frames without any AU that merge keeps (seed 003 subsamples them); 1 keeps all."""


@dataclass(frozen=True)
class SplitSettings:
    method: str = "optimise"
    """optimise (greedy then swaps) or random (best of N draws, seed 001)."""
    train: float = 0.8
    val: float = 0.0
    test: float = 0.2
    folds: int = 0
    draws: int = 100
    seed: int = 0
    balance_columns: tuple[str, ...] = ()
    """Extra manifest columns (e.g. gender, source) whose distributions are balanced too."""
    tolerance: float = 0.05
    """How far each part's share of frames may be from the one asked for."""


@dataclass(frozen=True)
class TrainSettings:
    models: tuple[str, ...] = ("prior", "linear", "cnn")
    tasks: tuple[str, ...] = ("au", "expr", "va")
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    window: int = 5
    """Frames per window for sequence models (5 frames is about 160 ms at 30 fps)."""
    input_size: int = 64
    """Side of the crops fed to the CNN (crops are resized to it)."""
    workers: int = 0
    va_bins: int = 0
    """Valence and arousal each cut into this many bins, and the VA loss weighted by the inverse frequency of a
    frame's bin pair (seed 004); 0: unweighted."""


FACS_NAMES = {
    "AU1": "inner brow raiser", "AU2": "outer brow raiser", "AU4": "brow lowerer", "AU5": "upper lid raiser",
    "AU6": "cheek raiser", "AU7": "lid tightener", "AU9": "nose wrinkler", "AU10": "upper lip raiser",
    "AU11": "nasolabial deepener", "AU12": "lip corner puller", "AU14": "dimpler", "AU15": "lip corner depressor",
    "AU16": "lower lip depressor", "AU17": "chin raiser", "AU18": "lip pucker", "AU20": "lip stretcher",
    "AU22": "lip funneler", "AU23": "lip tightener", "AU24": "lip pressor", "AU25": "lips part", "AU26": "jaw drop",
    "AU27": "mouth stretch", "AU28": "lip suck", "AU43": "eyes closed", "AU45": "blink", "AU46": "wink",
}
"""The FACS names of the Action Units (Ekman and Friesen), shown beside the AU numbers."""


@dataclass(frozen=True)
class DeskSettings:
    """The annotation scheme the desk shows: what the numbers and keys mean (the stored labels do not change)."""

    va_range: tuple[float, float] = (-1.0, 1.0)
    """The numbers shown at the valence-arousal disc's edges (AFEW-VA rates -10..10); labels stay in [-1, 1]."""
    va_anchors: tuple[str, ...] = ("pleased", "happy", "excited", "alert", "tense", "angry", "sad", "depressed",
                                   "bored", "tired", "calm", "relaxed")
    """Words around the disc, evenly spaced counter-clockwise from positive valence (the circumplex)."""
    expression_colours: tuple[str, ...] = ("#9e9e9e", "#d32f2f", "#689f38", "#7b1fa2", "#fbc02d", "#1976d2",
                                           "#f57c00", "#5d4037")
    """One colour per class of labels.expressions, in their order."""
    expression_keys: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", "7", "8")
    """The key of each class of labels.expressions, in their order."""
    au_names: dict[str, str] = field(default_factory=lambda: dict(FACS_NAMES))
    """The name shown beside each AU (``AU12 lip corner puller``)."""
    countdown: float = 3.0
    """Seconds counted down before a VA recording pass starts (DARMA and CARMA have one; 0: none)."""


@dataclass(frozen=True)
class SubjectsSettings:
    threshold: float = 0.5
    """Face descriptors closer than this (Euclidean, 128-d) are the same person; dlib's own is 0.6, the sample
    media put one person at 0.05-0.39 and two people at 0.64-0.92 apart."""
    frames: int = 5
    """At most this many frames per video (one per started 10 s of the subject's presence) whose descriptors
    stand for its subject."""


@dataclass(frozen=True)
class Settings:
    ingest: IngestSettings = field(default_factory=IngestSettings)
    faces: FacesSettings = field(default_factory=FacesSettings)
    labels: LabelsSettings = field(default_factory=LabelsSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    subjects: SubjectsSettings = field(default_factory=SubjectsSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)

    @property
    def fps(self) -> float:
        return self.ingest.fps

    def to_dict(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for f in fields(self):
            section = getattr(self, f.name)
            out[f.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(section).items()}
        return out

    def replace(self, section: str, **changes: Any) -> Settings:
        """A copy with some keys of one section changed (validated like a file)."""
        data = self.to_dict()
        data[section].update(changes)
        return settings_from_dict(data, source="<overrides>")

    def digest(self, section: str, keys: tuple[str, ...] | None = None) -> str:
        """A stable text of the settings a stage depends on, for keying its done-ledger."""
        values = self.to_dict()[section]
        if keys is not None:
            values = {k: values[k] for k in keys}
        return json.dumps(values, sort_keys=True)


def schema_file(name: str) -> Traversable:
    """The packaged ``schemas/<name>.schema.json`` (the same file as the repository's ``schemas/``)."""
    return DATA / "schemas" / f"{name}.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_file(name).read_text(encoding="utf-8"))


def _section_from_dict(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {}
    for f in fields(cls):
        if f.name in values:
            v = values[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


def settings_from_dict(data: dict[str, Any], source: str | Path = "<settings>", *, text: str | None = None,
                       prefix: tuple[str, ...] = ()) -> Settings:
    """Validate a settings mapping against the schema and build :class:`Settings`. ``text`` (the TOML it was
    read from) lets an error name its line; ``prefix`` is where the mapping sits in that file."""
    error = schema_error(load_schema("settings"), data, source, text, "setting", prefix)
    if error:
        raise error
    kwargs = {}
    for f in fields(Settings):
        section_cls = f.default_factory  # type: ignore[misc]
        kwargs[f.name] = _section_from_dict(section_cls, data.get(f.name, {}))
    return Settings(**kwargs)


def load_settings(path: Path) -> Settings:
    try:
        data, text = read_toml(path, "settings")
    except FileNotFoundError:
        raise AffcurateError(f"{path}: no settings file; run `affcurate init {path.parent}` first") from None
    return settings_from_dict(data, source=path, text=text)


SETTINGS_HEADER = """\
# affcurate workspace settings. Every key is optional; the values below are the defaults.
# The keys, their types and meanings: schemas/settings.schema.json (validated on every command).
"""


def settings_toml(settings: Settings) -> str:
    return SETTINGS_HEADER + "\n" + tomli_w.dumps(settings.to_dict())
