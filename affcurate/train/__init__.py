"""The bundled trainer: datasets over the workspace, baseline models, metrics and the benchmark runner."""
