"""Evaluation arithmetic (numpy, scikit-learn, matplotlib): what `bvae-viewer evaluate` reports.

The nn side scores slices and hands over `ScoredSlices`; everything here turns those into
detection metrics, abstention (risk-coverage) figures, the markdown report and the plots.
"""
