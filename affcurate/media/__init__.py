"""Media: probing, decoding, constant-frame-rate transcoding and frame maps."""
