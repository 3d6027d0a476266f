"""Exports that training code loads: a Hugging Face datasets folder (:func:`export_hf`), over the frames of
:func:`frame_index` (labelled, with a crop and a split), which :mod:`affcurate.torchdata` reads too."""

from affcurate.exports.frames import Frames, frame_index, read_splits
from affcurate.exports.hf import HfExport, export_hf

__all__ = ["Frames", "HfExport", "export_hf", "frame_index", "read_splits"]
