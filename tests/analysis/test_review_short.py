"""The queue's short form of a review reason says the same as the sentence."""

import math

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.review_reasons import (
    slice_review_reasons,
    slice_review_short,
    whole_case_reason,
)
from bvae_viewer.analysis.triage import TriagePolicy

POLICY = TriagePolicy(score_threshold=1.0, uncertainty_threshold=0.1, review_band=1.2)


def scores(score: float, unc: float = 0.01) -> SliceScores:
    return SliceScores(3, score, 0.0, 0.0, unc, 0.0, 0.0, 0.5)


def test_each_short_reason_matches_a_sentence():
    assert slice_review_short(scores(1.1), POLICY) == "near the line"
    assert slice_review_short(scores(3.0, unc=0.5), POLICY) == "uncertain"
    assert slice_review_short(scores(1.1, unc=0.5), POLICY) == "near the line, uncertain"
    assert len(slice_review_reasons(scores(1.1, unc=0.5), POLICY)) == 2
    assert slice_review_short(scores(math.nan), POLICY) == "not scored"
    assert slice_review_short(scores(3.0), POLICY) == ""  # flagged, not in review
    assert whole_case_reason([]) == ""
    assert whole_case_reason(["skull present"]).endswith("in review: skull present")
