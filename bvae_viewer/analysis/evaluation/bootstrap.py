"""Subject-level bootstrap for deferral orders: does a signal beat the score margin?

Slices of one subject are not independent (one brain, one tumour), so the resampling unit
is the subject: each replicate draws subjects with replacement and takes all their slices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bvae_viewer.analysis.evaluation.abstention import risk_coverage


@dataclass(frozen=True)
class Interval:
    """A statistic and its bootstrap percentile interval."""

    value: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


def _subject_index(subjects: np.ndarray) -> list[np.ndarray]:
    _, inverse = np.unique(np.asarray(subjects), return_inverse=True)
    return [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]


def _replicates(subjects: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    groups = _subject_index(subjects)
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        for _ in range(n)
    ]


def _interval(value: float, draws: np.ndarray, level: float) -> Interval:
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return Interval(float(value), float(low), float(high))


def aurc_intervals(
    errors: np.ndarray,
    priorities: Mapping[str, np.ndarray],
    subjects: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """AURC of each priority with its interval (the same replicates for every priority)."""
    errors = np.asarray(errors, dtype=bool)
    reps = _replicates(subjects, n_boot, seed)
    out = {}
    for name, priority in priorities.items():
        priority = np.asarray(priority, dtype=float)
        draws = np.array([risk_coverage(errors[r], priority[r]).aurc for r in reps])
        out[name] = _interval(risk_coverage(errors, priority).aurc, draws, level)
    return out


def aurc_gain(
    errors: np.ndarray,
    priority: np.ndarray,
    reference: np.ndarray,
    subjects: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """AURC(reference) - AURC(priority), paired over the same replicates: positive where
    ``priority`` orders the errors first better than ``reference`` does."""
    errors = np.asarray(errors, dtype=bool)
    priority = np.asarray(priority, dtype=float)
    reference = np.asarray(reference, dtype=float)

    def gain(idx: np.ndarray | slice) -> float:
        return (risk_coverage(errors[idx], reference[idx]).aurc
                - risk_coverage(errors[idx], priority[idx]).aurc)

    draws = np.array([gain(r) for r in _replicates(subjects, n_boot, seed)])
    return _interval(gain(slice(None)), draws, level)
