"""Who is who across videos, from their faces: ``affcurate subjects``.

The stage (holds the writer lock)::

    from affcurate.identity import subjects
    result = subjects(ws)            # descriptors, identities, findings, identity/contact_sheet.png

The reading side, one call each for the stages that use identities::

    read_identities(ws)      # video_id, identity, subject, confidence, within_distance, nearest_identity,
                             # nearest_video, nearest_distance, confirmed
    read_findings(ws)        # kind, identity, subject, identities, subjects, videos, distance, reviewed
    joined_subjects(ws, "given" | "faces" | "both")   # a person key per video, for subject-independent splits
    face_pairs(ws)           # video_a, video_b, distance: every pair whose faces match
    face_distance(ws, a, b)  # the distance between two videos' subjects
    contact_sheet(ws, path)  # the PNG, one row of thumbnails per identity, findings first
    pair_sheet(ws, pairs, path)   # a PNG of video pairs side by side (e.g. a split's leaks)
    describe_faces(rgb, boxes, landmarks)   # (N, 128) descriptors of faces in one frame (e.g. for a tracker)

The names load their modules on first use (dlib loads only when descriptors are computed).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "subjects": "affcurate.identity.stage",
    "SubjectsResult": "affcurate.identity.stage",
    "read_identities": "affcurate.identity.stage",
    "read_findings": "affcurate.identity.stage",
    "has_identities": "affcurate.identity.stage",
    "joined_subjects": "affcurate.identity.stage",
    "face_pairs": "affcurate.identity.stage",
    "face_distance": "affcurate.identity.stage",
    "video_descriptors": "affcurate.identity.stage",
    "describe": "affcurate.identity.descriptors",
    "read_descriptors": "affcurate.identity.descriptors",
    "contact_sheet": "affcurate.identity.sheet",
    "pair_sheet": "affcurate.identity.sheet",
    "thumbnail": "affcurate.identity.sheet",
    "identify": "affcurate.identity.reconcile",
    "describe_faces": "affcurate.identity.model",
    "read_corrections": "affcurate.identity.corrections",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'affcurate.identity' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
