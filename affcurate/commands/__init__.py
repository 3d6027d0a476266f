"""CLI command modules. Each defines ``register(app)`` adding its commands to the main Typer app;
``affcurate.cli`` registers every module in this package."""
