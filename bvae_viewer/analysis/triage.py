"""Triage: scores and uncertainty -> normal / flagged / review / empty, per slice and per case."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.model_info import Calibration


class Decision(StrEnum):
    NORMAL = "normal"
    FLAGGED = "flagged"
    REVIEW = "review"
    EMPTY = "empty"


@dataclass(frozen=True)
class CaseDecision:
    """The case-level call and why."""

    decision: Decision
    reasons: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


def longest_run(flags: Sequence[bool]) -> int:
    """Length of the longest run of consecutive True values."""
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


@dataclass(frozen=True)
class TriagePolicy:
    """Thresholds that sort slices; the model is never trusted on input unlike its training data."""

    score_threshold: float
    uncertainty_threshold: float
    # Tumours span neighbouring slices; isolated flagged slices are mostly noise.
    min_flagged_run: int = 2
    max_review_fraction: float = 0.1
    # The case's run counts slices above score_threshold times this (see Calibration); a
    # factor rather than a second threshold, so moving the slice threshold moves both.
    case_score_factor: float = 1.0
    # Scores within this factor of score_threshold go to review (see Calibration).
    review_band: float = 1.0
    # A shorter or lower run that sends an unflagged case to review (see Calibration).
    review_run: int = 0
    review_score_factor: float = 1.0

    @classmethod
    def from_calibration(cls, calibration: Calibration) -> TriagePolicy:
        return cls(
            calibration.score_threshold,
            calibration.uncertainty_threshold,
            calibration.min_flagged_run,
            calibration.max_review_fraction,
            max(1.0, calibration.case_score_factor),
            max(1.0, calibration.review_band),
            calibration.review_run,
            calibration.review_score_factor,
        )

    def near_line(self, score: float) -> bool:
        """Whether a score is too close to the threshold for the model to call it alone."""
        return bool(self.near_line_mask(np.array([score], dtype=float))[0])

    def near_line_mask(self, scores: np.ndarray) -> np.ndarray:
        """near_line for an array of scores at once (False where a score is not finite)."""
        band, line = self.review_band, self.score_threshold
        if not band > 1.0:
            return np.zeros(np.shape(scores), dtype=bool)
        with np.errstate(invalid="ignore"):
            return (scores > line / band) & (scores <= line * band)

    @property
    def case_score_threshold(self) -> float:
        """The level a run of slices must exceed to flag the case."""
        return self.score_threshold * max(1.0, self.case_score_factor)

    @property
    def case_review_threshold(self) -> float:
        """The level a run of review_run slices must exceed to send an unflagged case to
        review (infinite without that rule)."""
        return self.score_threshold * self.review_score_factor if self.review_run else math.inf

    def decide_slice(self, scores: SliceScores) -> Decision:
        """Review beats flagged: a slice the model is unsure about (high uncertainty, or a
        score near the threshold) goes to a human."""
        if scores.empty:
            return Decision.EMPTY
        if not math.isfinite(scores.anomaly_score) or not math.isfinite(scores.unc_total):
            return Decision.REVIEW
        if scores.unc_total > self.uncertainty_threshold or self.near_line(scores.anomaly_score):
            return Decision.REVIEW
        if scores.anomaly_score > self.score_threshold:
            return Decision.FLAGGED
        return Decision.NORMAL

    def decide_case(
        self, scores: Sequence[SliceScores], ood_reasons: Sequence[str] = ()
    ) -> CaseDecision:
        """Decide a case from its slices' scores, in slice order.

        Out of distribution -> review; a run of slices above the anomaly threshold (review
        slices count: uncertainty does not clear a suspicious slice) -> flagged; a shorter or
        lower run (small tumours) or many uncertain slices -> review; otherwise normal.
        """
        decisions = [self.decide_slice(s) for s in scores]
        counts = {d.value: 0 for d in Decision}
        for d in decisions:
            counts[d.value] += 1
        brain = len(decisions) - counts["empty"]
        if ood_reasons:
            return CaseDecision(Decision.REVIEW, tuple(ood_reasons), counts)
        if brain == 0:
            return CaseDecision(Decision.REVIEW, ("no brain was found in the volume",), counts)
        line = self.case_score_threshold
        brain_scores = [s.anomaly_score for s in scores if not s.empty]
        run = longest_run([score > line for score in brain_scores])
        if run >= self.min_flagged_run:
            where = (
                "the anomaly threshold"
                if line == self.score_threshold
                else f"{self.case_score_factor:.2g} times the anomaly threshold"
            )
            return CaseDecision(
                Decision.FLAGGED, (f"{run} consecutive slices above {where}",), counts
            )
        suspicious = self._suspicious_run(brain_scores)
        if suspicious:
            return CaseDecision(Decision.REVIEW, (suspicious,), counts)
        if counts["review"] / brain > self.max_review_fraction:
            return CaseDecision(
                Decision.REVIEW,
                (f"{counts['review']} of {brain} slices have high uncertainty",),
                counts,
            )
        return CaseDecision(Decision.NORMAL, (), counts)

    def _suspicious_run(self, brain_scores: Sequence[float]) -> str:
        """Why an unflagged case goes to review by its run of high slices ("" if it does not)."""
        line = self.case_review_threshold
        run = longest_run([score > line for score in brain_scores])
        if not self.review_run or run < self.review_run:
            return ""
        return (
            f"{run} consecutive slices above {self.review_score_factor:.2g} times the anomaly "
            f"threshold (a flagged case needs {self.min_flagged_run} above "
            f"{max(1.0, self.case_score_factor):.2g} times)"
        )
