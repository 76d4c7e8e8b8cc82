import math

import pytest

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision, TriagePolicy, longest_run

POLICY = TriagePolicy(score_threshold=1.0, uncertainty_threshold=0.5, min_flagged_run=2,
                      max_review_fraction=0.25)


def s(i: int, score: float, unc: float = 0.1, empty: bool = False) -> SliceScores:
    nan = math.nan
    if empty:
        return SliceScores(i, nan, nan, nan, nan, nan, nan, 0.0, empty=True)
    return SliceScores(i, score, score, score, unc, unc / 2, unc / 2, 0.3)


def test_slice_decisions():
    assert POLICY.decide_slice(s(0, 0.5)) == Decision.NORMAL
    assert POLICY.decide_slice(s(0, 1.5)) == Decision.FLAGGED
    assert POLICY.decide_slice(s(0, 1.5, unc=0.9)) == Decision.REVIEW
    assert POLICY.decide_slice(s(0, 0.2, unc=0.9)) == Decision.REVIEW
    assert POLICY.decide_slice(s(0, 0, empty=True)) == Decision.EMPTY
    assert POLICY.decide_slice(s(0, math.nan)) == Decision.REVIEW


def test_longest_run():
    assert longest_run([]) == 0
    assert longest_run([True, False, True, True, True, False, True]) == 3


def test_case_flagged_only_on_a_run_of_suspicious_slices():
    isolated = [s(0, 0, empty=True), s(1, 2.0), s(2, 0.1), s(3, 2.0), s(4, 0.1)]
    assert POLICY.decide_case(isolated).decision == Decision.NORMAL
    run = [s(0, 0.1), s(1, 2.0), s(2, 2.0, unc=0.9), s(3, 0.1), s(4, 0.1)]
    # The middle slice is uncertain but still above the score threshold: it extends the run.
    case = POLICY.decide_case(run)
    assert case.decision == Decision.FLAGGED
    assert case.counts["review"] == 1 and case.counts["flagged"] == 1


def test_case_review_on_many_uncertain_slices_on_ood_and_on_no_brain():
    uncertain = [s(i, 0.1, unc=0.9 if i < 2 else 0.1) for i in range(6)]
    assert POLICY.decide_case(uncertain).decision == Decision.REVIEW
    normal = [s(i, 0.1) for i in range(6)]
    assert POLICY.decide_case(normal).decision == Decision.NORMAL
    ood = POLICY.decide_case(normal, ood_reasons=["the intensity distribution is unlike T1ce"])
    assert ood.decision == Decision.REVIEW and "T1ce" in ood.reasons[0]
    assert POLICY.decide_case([s(0, 0, empty=True)]).decision == Decision.REVIEW


def test_case_factor_raises_the_line_a_run_must_clear():
    strict = TriagePolicy(1.0, 0.5, min_flagged_run=1, case_score_factor=3.0)
    assert strict.case_score_threshold == 3.0
    # Flagged slices below three times the line do not flag the case...
    slices = [s(0, 2.0), s(1, 2.5), s(2, 0.1)]
    assert strict.decide_slice(slices[0]) == Decision.FLAGGED
    assert strict.decide_case(slices).decision == Decision.NORMAL
    # ...one slice far above it does, and the reason names the factor.
    case = strict.decide_case([*slices, s(3, 3.5)])
    assert case.decision == Decision.FLAGGED and "3 times" in case.reasons[0]
    # The factor is a multiple of the slice threshold: a factor below 1 cannot flag a case
    # whose slices are all normal.
    loose = TriagePolicy(1.0, 0.5, min_flagged_run=1, case_score_factor=0.5)
    assert loose.decide_case([s(0, 0.8), s(1, 0.9)]).decision == Decision.NORMAL



def test_a_short_or_low_run_sends_an_unflagged_case_to_review():
    policy = TriagePolicy(1.0, 0.5, min_flagged_run=4, case_score_factor=1.5,
                          review_run=2, review_score_factor=0.8)
    assert policy.case_review_threshold == pytest.approx(0.8)
    # Two neighbouring slices at 0.9: below the slice line, so no slice is flagged, yet the
    # case is not called normal; the reason gives both rules.
    small = [s(0, 0.1), s(1, 0.9), s(2, 0.9), s(3, 0.1)]
    assert [policy.decide_slice(x) for x in small].count(Decision.FLAGGED) == 0
    case = policy.decide_case(small)
    assert case.decision == Decision.REVIEW
    assert case.reasons == ("2 consecutive slices above 0.8 times the anomaly threshold "
                            "(a flagged case needs 4 above 1.5 times)",)
    # One such slice is not a run; a long run above 1.5 still flags the case.
    assert policy.decide_case([s(0, 0.9), s(1, 0.1), s(2, 0.9)]).decision == Decision.NORMAL
    long_run = [s(i, 2.0) for i in range(5)]
    assert policy.decide_case(long_run).decision == Decision.FLAGGED
    # Without the rule (older models) the small case is normal.
    assert TriagePolicy(1.0, 0.5, min_flagged_run=4).decide_case(small).decision == \
        Decision.NORMAL


def test_scores_near_the_line_go_to_review():
    banded = TriagePolicy(1.0, 0.5, review_band=1.5)
    assert banded.decide_slice(s(0, 0.6)) == Decision.NORMAL  # below 1/1.5
    assert banded.decide_slice(s(0, 0.8)) == Decision.REVIEW
    assert banded.decide_slice(s(0, 1.4)) == Decision.REVIEW
    assert banded.decide_slice(s(0, 1.6)) == Decision.FLAGGED  # above 1.5
    # Without a band (older models) only the uncertainty sends a slice to review.
    assert POLICY.decide_slice(s(0, 0.8)) == Decision.NORMAL
