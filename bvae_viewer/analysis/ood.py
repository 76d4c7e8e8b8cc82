"""Is this volume like the training data? Volume-level signals against a validation reference.

A head with skull, pure noise or another contrast can reconstruct badly everywhere or, worse,
smoothly: per-slice scores alone cannot be trusted there, so such a case goes to review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.data.preprocess import SliceStack

HIST_BINS = 32
# Margins on the validation extremes: a case must be clearly outside what validation saw.
MARGIN = 1.5
VOLUME_MARGIN = 0.25


@dataclass(frozen=True)
class VolumeFeatures:
    brain_ml: float
    histogram: tuple[float, ...]  # normalised intensity histogram of brain pixels
    latent_nll: float  # median over brain slices
    recon_error: float  # median over brain slices
    unc_total: float  # median over brain slices


def volume_features(stack: SliceStack, scores: Sequence[SliceScores]) -> VolumeFeatures:
    """Summarise a whole analysed volume."""
    brain = stack.images[stack.masks]
    hist, _ = np.histogram(brain, bins=HIST_BINS, range=(0.0, 1.0))
    hist = hist / max(1, hist.sum())
    valid = [s for s in scores if not s.empty]

    def median(name: str) -> float:
        values = [getattr(s, name) for s in valid]
        return float(np.median(values)) if values else float("nan")

    return VolumeFeatures(
        brain_ml=stack.brain_ml,
        histogram=tuple(float(h) for h in hist),
        latent_nll=median("latent_nll"),
        recon_error=median("recon_error"),
        unc_total=median("unc_total"),
    )


def histogram_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Total-variation distance between two histograms (0 same, 1 disjoint)."""
    return 0.5 * float(np.abs(np.asarray(a) - np.asarray(b)).sum())


def fit_reference(features: Sequence[VolumeFeatures]) -> dict[str, Any]:
    """Reference statistics from validation volumes (which include tumour cases)."""
    hists = np.array([f.histogram for f in features])
    mean_hist = hists.mean(axis=0)
    dist = [histogram_distance(h, mean_hist) for h in hists]
    ml = np.array([f.brain_ml for f in features])

    def upper(name: str) -> float | None:
        values = np.array([getattr(f, name) for f in features], dtype=float)
        values = values[np.isfinite(values)]
        # None: the method has no such signal (Reverse Distillation and the Probabilistic
        # U-Net have no latent likelihood), and the check is skipped.
        return float(values.max() * MARGIN) if len(values) else None

    return {
        "histogram": mean_hist.tolist(),
        "histogram_distance_max": float(max(dist) * MARGIN + 0.02),
        "brain_ml_range": [
            float(ml.min() * (1 - VOLUME_MARGIN)),
            float(ml.max() * (1 + VOLUME_MARGIN)),
        ],
        "latent_nll_max": upper("latent_nll"),
        "recon_error_max": upper("recon_error"),
        "unc_total_max": upper("unc_total"),
        "n_volumes": len(features),
    }


def ood_reasons(features: VolumeFeatures, reference: dict[str, Any]) -> list[str]:
    """Plain sentences, one per failed check; empty when the volume looks like training data."""
    if not reference:
        return []
    reasons = []
    lo, hi = reference["brain_ml_range"]
    if not lo <= features.brain_ml <= hi:
        reasons.append(
            f"the foreground volume ({features.brain_ml:.0f} ml) is outside the range of "
            f"skull-stripped brains seen in validation ({lo:.0f}-{hi:.0f} ml)"
        )
    if (
        histogram_distance(features.histogram, reference["histogram"])
        > reference["histogram_distance_max"]
    ):
        reasons.append("the intensity distribution is unlike T1ce training data")
    checks = (
        ("latent_nll", "latent_nll_max", "the encoding is unlike the training data"),
        ("recon_error", "recon_error_max", "the reconstruction error is high throughout"),
        ("unc_total", "unc_total_max", "the model's uncertainty is high throughout"),
    )
    for name, key, sentence in checks:
        limit = reference.get(key)
        if limit is None or np.isnan(limit):
            continue  # the model has no such signal, so there is nothing to compare with
        value = getattr(features, name)
        if not np.isfinite(value) or value > limit:
            reasons.append(sentence)
    return reasons


def features_dict(features: VolumeFeatures) -> dict[str, Any]:
    out = asdict(features)
    out.pop("histogram")
    return out
