"""Labels: the annotation model, external formats, resampling onto the 30 fps grid, fusion and agreement."""
