"""Segmentation metrics of a sampling segmenter against several graders (numpy only).

- Dice of the sample mean: the mean tumour probability over K samples, thresholded at 0.5,
  against the reference segmentation (whole tumour).
- Generalised energy distance (Kohl et al. 2018), d = 1 - IoU:
  D^2 = 2 E[d(S, Y)] - E[d(S, S')] - E[d(Y, Y')], S, S' samples and Y, Y' graders;
  d of two empty masks is 0. Lower is better.
- Sample diversity: E[d(S, S')] over distinct pairs, how different the samples are.
- Uncertainty correlation: Pearson r between the predicted pixel variance and the variance
  across graders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def iou_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - IoU of two binary masks; 0 when both are empty (they agree)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(1.0 - np.logical_and(a, b).sum() / union)


def _mean_distance(xs: np.ndarray, ys: np.ndarray, distinct: bool) -> float:
    values = [
        iou_distance(x, y)
        for i, x in enumerate(xs)
        for j, y in enumerate(ys)
        if not (distinct and i == j)
    ]
    return float(np.mean(values)) if values else 0.0


def generalised_energy_distance(samples: np.ndarray, graders: np.ndarray) -> tuple[float, float]:
    """(D^2_GED, sample diversity) of (K, ...) binary samples against (n, ...) graders.

    The GED's three expectations run over all pairs, a mask with itself included (as in the
    reference implementations), so identical sets give exactly 0; the diversity reported
    is over distinct pairs, the plain "how different are two samples".
    """
    cross = _mean_distance(samples, graders, distinct=False)
    within_samples = _mean_distance(samples, samples, distinct=False)
    within_graders = _mean_distance(graders, graders, distinct=False)
    ged = 2.0 * cross - within_samples - within_graders
    return ged, _mean_distance(samples, samples, distinct=True)


def dice(pred: np.ndarray, ref: np.ndarray) -> float | None:
    """Dice of two binary masks; None when both are empty (undefined)."""
    pred, ref = np.asarray(pred, dtype=bool), np.asarray(ref, dtype=bool)
    total = pred.sum() + ref.sum()
    if total == 0:
        return None
    return float(2.0 * np.logical_and(pred, ref).sum() / total)


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson r, or None when either side is constant."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


@dataclass
class SegmentationTally:
    """Per-slice values gathered over the test slices, then summarised once."""

    dice: list[float] = field(default_factory=list)
    ged: list[float] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)
    # Pixel sums for the pooled Dice over all graded slices.
    intersection: int = 0
    total: int = 0
    predicted_variance: list[np.ndarray] = field(default_factory=list)
    grader_variance: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        probs: np.ndarray,
        graders: np.ndarray,
        reference: np.ndarray,
        predicted_variance: np.ndarray,
        brain: np.ndarray,
    ) -> None:
        """One slice: (K, S, S) sample probabilities, (n, S, S) grader masks, (S, S) reference
        mask, predicted pixel variance and brain mask."""
        samples = probs > 0.5
        mean_mask = probs.mean(axis=0) > 0.5
        d = dice(mean_mask, reference)
        if d is not None:
            self.dice.append(d)
        self.intersection += int(np.logical_and(mean_mask, reference).sum())
        self.total += int(mean_mask.sum() + np.asarray(reference, dtype=bool).sum())
        ged, div = generalised_energy_distance(samples, graders)
        self.ged.append(ged)
        self.diversity.append(div)
        votes = np.asarray(graders, dtype=np.float32).mean(axis=0)
        self.predicted_variance.append(np.asarray(predicted_variance)[brain])
        self.grader_variance.append((votes * (1.0 - votes))[brain])

    def summary(self) -> dict[str, Any]:
        """JSON-able means; None where nothing was measured."""

        def mean(values: list[float]) -> float | None:
            return float(np.mean(values)) if values else None

        pred = np.concatenate(self.predicted_variance) if self.predicted_variance else np.zeros(0)
        target = np.concatenate(self.grader_variance) if self.grader_variance else np.zeros(0)
        return {
            "n_slices": len(self.ged),
            "dice_mean": mean(self.dice),
            "dice_pooled": (2.0 * self.intersection / self.total) if self.total else None,
            "ged": mean(self.ged),
            "diversity": mean(self.diversity),
            "uncertainty_corr": pearson(pred, target),
            "predicted_variance_mean": float(pred.mean()) if pred.size else None,
            "grader_variance_mean": float(target.mean()) if target.size else None,
        }
