"""affcurate: curated, labelled, split and benchmarked facial-affect datasets from raw face videos."""

from affcurate.errors import AffcurateError, InputError
from affcurate.workspace import Workspace

__all__ = ["AffcurateError", "InputError", "Workspace", "__version__"]
__version__ = "0.1.0"
