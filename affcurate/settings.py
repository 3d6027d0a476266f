"""Workspace settings: plain frozen dataclasses read from ``affcurate.toml`` and validated once on load.

The defaults live here, in the dataclasses; ``schemas/settings.schema.json`` states the same keys, types and
defaults for other tools (a test keeps the two equal).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import tomli_w
import tomllib

from affcurate.errors import AffcurateError, InputError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

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
    keep_audio: bool = False
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


@dataclass(frozen=True)
class Settings:
    ingest: IngestSettings = field(default_factory=IngestSettings)
    faces: FacesSettings = field(default_factory=FacesSettings)
    labels: LabelsSettings = field(default_factory=LabelsSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    train: TrainSettings = field(default_factory=TrainSettings)

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


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = SCHEMAS_DIR / f"{name}.schema.json"
    return json.loads(path.read_text())


def _section_from_dict(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {}
    for f in fields(cls):
        if f.name in values:
            v = values[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


def settings_from_dict(data: dict[str, Any], source: str = "<settings>") -> Settings:
    """Validate a settings mapping against the schema and build :class:`Settings`."""
    validator = jsonschema.Draft202012Validator(load_schema("settings"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties":
            msg = f"{where}: {err.message}; allowed keys are listed in schemas/settings.schema.json"
        else:
            msg = f"{where}: {err.message}"
        raise InputError(source, f"invalid setting {msg}")
    kwargs = {}
    for f in fields(Settings):
        section_cls = f.default_factory  # type: ignore[misc]
        kwargs[f.name] = _section_from_dict(section_cls, data.get(f.name, {}))
    return Settings(**kwargs)


def load_settings(path: Path) -> Settings:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise AffcurateError(f"{path}: no settings file; run `affcurate init {path.parent}` first") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML ({exc})") from exc
    return settings_from_dict(data, source=str(path))


SETTINGS_HEADER = """\
# affcurate workspace settings. Every key is optional; the values below are the defaults.
# The keys, their types and meanings: schemas/settings.schema.json (validated on every command).
"""


def settings_toml(settings: Settings) -> str:
    return SETTINGS_HEADER + "\n" + tomli_w.dumps(settings.to_dict())
