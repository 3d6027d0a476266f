"""Finding a workspace image by the name a dataset's files give it (AffectNet's ``subDirectory_filePath``, a
file name, or an image id)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pandas as pd

from affcurate.workspace import safe_video_id


class ImageNames:
    """The images of a workspace, findable by a trailing part of their path, their file name or their id."""

    def __init__(self, images: pd.DataFrame):
        self.images = images
        self.ids = set(images["image_id"].astype(str))
        self._by_tail: dict[str, str | None] = {}
        self._by_stem: dict[str, str | None] = {}
        for vid, path in zip(images["image_id"].astype(str), images["path"].astype(str), strict=True):
            parts = PurePosixPath(path.replace("\\", "/")).parts
            for k in (1, 2):  # "name.jpg" and "folder/name.jpg": AffectNet's paths are one folder deep
                tail = "/".join(parts[-k:])
                self._by_tail[tail] = vid if self._by_tail.get(tail, vid) == vid else None
            stem = safe_video_id(PurePosixPath(parts[-1]).stem) if parts else vid
            self._by_stem[stem] = vid if self._by_stem.get(stem, vid) == vid else None

    def __bool__(self) -> bool:
        return bool(self.ids)

    def find(self, name: str) -> str | None:
        """The image id a name refers to, or None (unknown, or ambiguous between two images)."""
        name = str(name).strip().replace("\\", "/")
        if name in self.ids:
            return name
        parts = PurePosixPath(name).parts
        for k in (2, 1):
            if len(parts) >= k:
                hit = self._by_tail.get("/".join(parts[-k:]))
                if hit is not None:
                    return hit
        if not parts:
            return None
        stem = safe_video_id(PurePosixPath(parts[-1]).stem)
        return stem if stem in self.ids else self._by_stem.get(stem)
