"""The sentence that says why a slice is in review."""

from dataclasses import replace

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.review_reasons import (
    case_review_reason,
    slice_review_reason,
    slice_review_reasons,
)
from bvae_viewer.analysis.triage import TriagePolicy

POLICY = TriagePolicy(score_threshold=1.0, uncertainty_threshold=0.03, review_band=1.11)


def _scores(score, unc=0.01, spread=float("nan")):
    return SliceScores(80, score, 0.01, 0.5, unc, 0.001, unc - 0.001, 0.4, score_spread=spread)


def test_near_the_line_says_how_near():
    reason = slice_review_reason(_scores(0.95), POLICY)
    assert reason.startswith("Score 0.95, 0.95x the threshold (within 1.11x")


def test_high_uncertainty_and_disagreement_are_named():
    reasons = slice_review_reasons(_scores(0.5, unc=0.05, spread=0.2), POLICY)
    assert reasons[0] == "uncertainty 0.05 above its threshold 0.03"
    assert reasons[1] == "the models disagree: their scores differ by 22 % (1 SD)"


def test_slices_not_in_review_have_no_reason():
    assert slice_review_reason(_scores(0.5), POLICY) == ""  # normal
    assert slice_review_reason(_scores(2.0), POLICY) == ""  # flagged
    assert slice_review_reason(replace(_scores(0.5), empty=True), POLICY) == ""


def test_unscorable_slice_and_unlike_training_data():
    assert slice_review_reason(_scores(float("nan")), POLICY) == (
        "The model could not score this slice")
    assert case_review_reason(["foreground 4,000 ml"]) == (
        "Unlike the training data: foreground 4,000 ml")
    assert case_review_reason([]) == ""
