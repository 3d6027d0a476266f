"""The image-set stage is a name of the package (``affcurate.ingest_images``) that loads only when it is used."""

from __future__ import annotations

import subprocess
import sys

import affcurate


def test_ingest_images_is_the_image_set_stage() -> None:
    from affcurate.imagesets.stage import ingest_images

    assert affcurate.ingest_images is ingest_images
    assert "ingest_images" in dir(affcurate)


def test_naming_the_twin_loads_no_heavy_library_until_it_is_used() -> None:
    code = ("import sys, affcurate; 'ingest_images' in dir(affcurate); "
            "print(sorted(m for m in ('torch', 'cv2', 'affcurate.imagesets.stage') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
