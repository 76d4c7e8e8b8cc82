"""The torch side of `bvae-viewer evaluate`: presets, data, scoring, baselines and the rows."""
