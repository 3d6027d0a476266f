"""The affcurate annotation desk (PySide6): `affcurate annotate`.

It imports affcurate; affcurate never imports it (the command is registered through the
``affcurate.commands`` entry point)."""
