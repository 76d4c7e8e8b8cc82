"""Why a slice is in review, in one sentence a reviewer can check against the screen.

The same sentence stands in the window's queue, in Slice details and in the report, so it is
made once, here, from the scores and the policy that sent the slice.
"""

from __future__ import annotations

import math

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision, TriagePolicy


def _ratio(score: float, threshold: float) -> str:
    return f"{score / threshold:.2f}x the threshold" if threshold > 0 else "at the threshold"


def _reasons(scores: SliceScores, policy: TriagePolicy) -> list[tuple[str, str]]:
    """(a few words, the clause) per reason the policy has to send this slice to review."""
    if policy.decide_slice(scores) is not Decision.REVIEW:
        return []
    if not math.isfinite(scores.anomaly_score) or not math.isfinite(scores.unc_total):
        return [("not scored", "the model could not score this slice")]
    reasons = []
    t = policy.score_threshold
    if policy.near_line(scores.anomaly_score):
        reasons.append((
            "near the line",
            f"score {scores.anomaly_score:.3g}, {_ratio(scores.anomaly_score, t)} "
            f"(within {policy.review_band:.3g}x of it, where the model errs most)",
        ))
    if scores.unc_total > policy.uncertainty_threshold:
        reasons.append((
            "uncertain",
            f"uncertainty {scores.unc_total:.3g} above its threshold "
            f"{policy.uncertainty_threshold:.3g}",
        ))
    if math.isfinite(scores.score_spread):
        reasons.append(("models disagree", f"the models disagree: their scores differ by "
                        f"{100 * (math.exp(scores.score_spread) - 1):.0f} % (1 SD)"))
    return reasons


def slice_review_reasons(scores: SliceScores, policy: TriagePolicy) -> list[str]:
    """Every reason the policy has to send this slice to review (empty if it does not)."""
    return [clause for _short, clause in _reasons(scores, policy)]


def slice_review_short(scores: SliceScores, policy: TriagePolicy) -> str:
    """The same reasons in a few words each, for a list row ('near the line, uncertain')."""
    return ", ".join(short for short, _clause in _reasons(scores, policy))


def slice_review_reason(scores: SliceScores, policy: TriagePolicy) -> str:
    """The reasons joined into one sentence ('' if the slice is not in review)."""
    text = "; ".join(slice_review_reasons(scores, policy))
    return text[:1].upper() + text[1:]


def case_review_reason(ood_reasons: list[str]) -> str:
    """A case sent to review as unlike the training data."""
    return "Unlike the training data: " + "; ".join(ood_reasons) if ood_reasons else ""


def whole_case_reason(case_reasons: list[str]) -> str:
    """A slice in review only because its whole case is (unlike the training data, an
    implausible brain extraction): the case's own reasons."""
    return "The whole case is in review: " + "; ".join(case_reasons) if case_reasons else ""
