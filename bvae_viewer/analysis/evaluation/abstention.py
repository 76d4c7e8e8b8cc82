"""Abstention: what happens to the automatic decisions when some slices go to a human.

A row decides a slice automatically (flagged if its anomaly score is above the threshold)
unless a *deferral priority* sends it to review first. The risk of the automatic part is its
error rate. Priorities compared: the uncertainty (what the app's triage uses) and the score
alone (distance to the threshold: the slices the score is least sure about).

Ties in the priority are broken in expectation, as if the order inside a tie were random:
a method whose uncertainty is constant gets the risk of random deferral, not of whatever
order the slices happened to be stored in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RiskCoverage:
    """Risk of the k least-deferred slices for k = 1..n (coverage k/n)."""

    coverage: np.ndarray  # (n,) increasing, last value 1
    risk: np.ndarray  # (n,) expected error rate among the kept slices

    @property
    def aurc(self) -> float:
        """Area under the risk-coverage curve: the mean of risk over k (Geifman et al.)."""
        return float(self.risk.mean())


def _priority(values: np.ndarray) -> np.ndarray:
    """NaN (a method that cannot say) counts as the highest priority: reviewed first."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isnan(values), np.inf, values)


def _groups(priority: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slices ordered by ascending priority (kept first), with their tie groups' bounds."""
    order = np.argsort(priority, kind="stable")
    p = priority[order]
    new = np.r_[True, p[1:] != p[:-1]]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(p)]
    return order, starts, ends


def kept_weights(priority: np.ndarray, n_keep: float) -> np.ndarray:
    """Probability that each slice is among the n_keep lowest-priority ones (ties shared)."""
    priority = _priority(priority)
    order, starts, ends = _groups(priority)
    weights_sorted = np.zeros(len(priority))
    for s, e in zip(starts, ends, strict=True):
        # The whole group is kept, none of it, or an equal share of each member.
        weights_sorted[s:e] = np.clip((n_keep - s) / (e - s), 0.0, 1.0)
    weights = np.empty_like(weights_sorted)
    weights[order] = weights_sorted
    return weights


def risk_coverage(errors: np.ndarray, priority: np.ndarray) -> RiskCoverage:
    """Keep slices in order of ascending deferral priority; risk at every coverage."""
    errors = np.asarray(errors, dtype=bool)
    priority = _priority(priority)
    n = errors.size
    if n == 0 or priority.shape != errors.shape:
        raise ValueError("risk_coverage needs as many priorities as errors, at least one.")
    order, starts, ends = _groups(priority)
    e = errors[order].astype(float)
    sizes = ends - starts
    group_errors = np.add.reduceat(e, starts)
    before = np.r_[0.0, np.cumsum(group_errors)[:-1]]
    gid = np.repeat(np.arange(len(starts)), sizes)
    within = np.arange(n) - starts[gid] + 1
    # Expected errors among the first k: full groups before, a pro-rata share of this one.
    expected = before[gid] + within * group_errors[gid] / sizes[gid]
    k = np.arange(1, n + 1)
    return RiskCoverage(k / n, expected / k)


def oracle_aurc(errors: np.ndarray) -> float:
    """AURC of the best possible priority: every error deferred before any correct slice."""
    errors = np.asarray(errors, dtype=bool)
    return risk_coverage(errors, errors.astype(float)).aurc


def excess_aurc(errors: np.ndarray, priority: np.ndarray) -> float:
    """AURC minus the oracle's: 0 is a perfect ordering, independent of the base error rate."""
    return risk_coverage(errors, priority).aurc - oracle_aurc(errors)


def score_margin_priority(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The score alone: slices closest to the threshold are the least certain decisions."""
    scores = np.asarray(scores, dtype=float)
    if not np.isfinite(threshold):
        # No usable threshold (nothing is ever flagged): the highest scores are the doubtful.
        return scores
    return -np.abs(scores - threshold)


@dataclass(frozen=True)
class SelectiveResult:
    """Sensitivity and specificity of the automatic part after sending a share to review."""

    review_fraction: float
    coverage: float
    sensitivity: float | None
    specificity: float | None
    error_rate: float | None
    abnormal_in_review: float  # share of all abnormal slices that went to review


def _selective(
    labels: np.ndarray, predicted: np.ndarray, kept: np.ndarray, review_fraction: float
) -> SelectiveResult:
    """Confusion counts weighted by the probability that each slice is decided automatically."""
    labels = np.asarray(labels, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    tp = float((kept * (labels & predicted)).sum())
    pos = float((kept * labels).sum())
    tn = float((kept * (~labels & ~predicted)).sum())
    neg = float((kept * ~labels).sum())
    n_kept = float(kept.sum())
    return SelectiveResult(
        review_fraction=float(review_fraction),
        coverage=n_kept / labels.size if labels.size else 0.0,
        sensitivity=tp / pos if pos > 0 else None,
        specificity=tn / neg if neg > 0 else None,
        error_rate=(n_kept - tp - tn) / n_kept if n_kept > 0 else None,
        abnormal_in_review=(
            float(((1 - kept) * labels).sum() / labels.sum()) if labels.any() else 0.0
        ),
    )


def selective_metrics(
    labels: np.ndarray, predicted: np.ndarray, priority: np.ndarray, review_fraction: float
) -> SelectiveResult:
    """Send the review_fraction of slices with the highest priority to review; score the rest."""
    if not 0.0 <= review_fraction < 1.0:
        raise ValueError("The review fraction must be in [0, 1).")
    n = np.asarray(labels).size
    kept = kept_weights(priority, n * (1.0 - review_fraction))
    return _selective(labels, predicted, kept, review_fraction)


def selective_at_threshold(
    labels: np.ndarray, predicted: np.ndarray, uncertainty: np.ndarray, threshold: float
) -> SelectiveResult:
    """Review where the uncertainty exceeds a threshold; score the rest."""
    return selective_reviewed(labels, predicted, _priority(uncertainty) > threshold)


def selective_reviewed(
    labels: np.ndarray, predicted: np.ndarray, reviewed: np.ndarray
) -> SelectiveResult:
    """The given slices go to review (e.g. the app's TriagePolicy's); score the rest."""
    reviewed = np.asarray(reviewed, dtype=bool)
    kept = (~reviewed).astype(float)
    fraction = float(reviewed.mean()) if reviewed.size else 0.0
    return _selective(labels, predicted, kept, fraction)
