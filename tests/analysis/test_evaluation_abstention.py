"""Risk-coverage, AURC / excess AURC and selective sensitivity/specificity on known answers."""

import math

import numpy as np
import pytest

from bvae_viewer.analysis.evaluation.abstention import (
    excess_aurc,
    kept_weights,
    oracle_aurc,
    risk_coverage,
    score_margin_priority,
    selective_at_threshold,
    selective_metrics,
)


def test_aurc_of_a_perfect_ordering_is_the_oracle_and_excess_zero():
    errors = np.array([False, False, True, True])
    priority = np.array([1.0, 2.0, 3.0, 4.0])  # the two errors are deferred first
    curve = risk_coverage(errors, priority)
    np.testing.assert_allclose(curve.coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve.risk, [0, 0, 1 / 3, 1 / 2])
    assert curve.aurc == pytest.approx(5 / 24)
    assert oracle_aurc(errors) == pytest.approx(5 / 24)
    assert excess_aurc(errors, priority) == pytest.approx(0.0)


def test_aurc_of_the_worst_ordering():
    errors = np.array([False, False, True, True])
    priority = np.array([4.0, 3.0, 2.0, 1.0])  # errors kept first
    curve = risk_coverage(errors, priority)
    np.testing.assert_allclose(curve.risk, [1, 1, 2 / 3, 1 / 2])
    assert curve.aurc == pytest.approx(19 / 24)
    assert excess_aurc(errors, priority) == pytest.approx(14 / 24)


def test_ties_are_broken_in_expectation():
    # A constant priority is random review: the risk is the error rate at every coverage.
    errors = np.array([True, False, False, False, True, False, False, False])
    curve = risk_coverage(errors, np.zeros(8))
    np.testing.assert_allclose(curve.risk, 0.25)
    assert curve.aurc == pytest.approx(0.25)
    # The stored order of tied slices must not matter.
    assert risk_coverage(errors[::-1], np.zeros(8)).aurc == pytest.approx(0.25)
    # A tie inside a ranking: [0 | tie of an error and a correct one | 1 error].
    errors = np.array([False, True, False, True])
    priority = np.array([0.0, 1.0, 1.0, 2.0])
    np.testing.assert_allclose(risk_coverage(errors, priority).risk, [0, 0.25, 1 / 3, 0.5])


def test_risk_coverage_properties_on_random_data():
    rng = np.random.default_rng(0)
    n = 500
    errors = rng.random(n) < 0.2
    informative = errors + rng.normal(0, 0.7, n)  # higher where errors are
    curve = risk_coverage(errors, informative)
    assert np.all(np.diff(curve.coverage) > 0) and curve.coverage[-1] == 1.0
    assert curve.risk[-1] == pytest.approx(errors.mean())  # full coverage: the plain error rate
    assert np.all((curve.risk >= 0) & (curve.risk <= 1))
    oracle = risk_coverage(errors, errors.astype(float))
    # The oracle's risk never falls with coverage and lies below any ordering's everywhere.
    assert np.all(np.diff(oracle.risk) >= -1e-12)
    assert np.all(oracle.risk <= curve.risk + 1e-12)
    # An informative priority beats random review; its reverse does worse.
    assert curve.aurc < errors.mean() < risk_coverage(errors, -informative).aurc
    assert 0 < excess_aurc(errors, informative) < excess_aurc(errors, -informative)


def test_oracle_closed_form_for_large_n():
    # Geifman et al.: AURC* ~ r + (1 - r) ln(1 - r) for error rate r.
    errors = np.zeros(100_000, dtype=bool)
    errors[:20_000] = True
    r = 0.2
    assert oracle_aurc(errors) == pytest.approx(r + (1 - r) * math.log(1 - r), abs=1e-4)


def test_nan_priority_goes_to_review_first():
    errors = np.array([True, False, False])
    curve = risk_coverage(errors, np.array([np.nan, 0.1, 0.2]))
    np.testing.assert_allclose(curve.risk, [0, 0, 1 / 3])


def test_kept_weights_share_a_tie_at_the_cut():
    w = kept_weights(np.array([0.0, 1.0, 1.0, 1.0, 5.0]), n_keep=2.5)
    np.testing.assert_allclose(w, [1, 0.5, 0.5, 0.5, 0])
    assert w.sum() == pytest.approx(2.5)


def test_selective_sensitivity_and_specificity_by_hand():
    # 10 slices: 4 abnormal. Predictions miss abnormal 3 and falsely flag normal 9.
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    predicted = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    # The uncertainty is highest exactly on the two wrong slices, then on slice 0.
    unc = np.array([0.5, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8])
    none = selective_metrics(labels, predicted, unc, 0.0)
    assert none.coverage == 1.0
    assert none.sensitivity == pytest.approx(3 / 4)
    assert none.specificity == pytest.approx(5 / 6)
    assert none.error_rate == pytest.approx(0.2)
    r20 = selective_metrics(labels, predicted, unc, 0.2)  # the two errors go to review
    assert r20.coverage == pytest.approx(0.8)
    assert r20.sensitivity == 1.0 and r20.specificity == 1.0 and r20.error_rate == 0.0
    assert r20.abnormal_in_review == pytest.approx(1 / 4)
    r30 = selective_metrics(labels, predicted, unc, 0.3)  # and then slice 0 (a hit)
    assert r30.sensitivity == 1.0 and r30.abnormal_in_review == pytest.approx(2 / 4)
    # Review by the score margin: scores 0.1 above/below a threshold of 1.0 are doubtful.
    scores = np.array([2.0, 3.0, 2.5, 0.95, 0.2, 0.1, 0.3, 0.2, 0.4, 1.05])
    r20s = selective_metrics(labels, predicted, score_margin_priority(scores, 1.0), 0.2)
    assert r20s.sensitivity == 1.0 and r20s.specificity == 1.0


def test_selective_at_the_policy_threshold():
    labels = np.array([1, 1, 0, 0], dtype=bool)
    predicted = np.array([1, 0, 0, 1], dtype=bool)
    result = selective_at_threshold(labels, predicted, np.array([0.1, 0.9, 0.1, 0.2]), 0.5)
    assert result.review_fraction == pytest.approx(0.25)
    assert result.sensitivity == 1.0 and result.specificity == 0.5
    with pytest.raises(ValueError):
        selective_metrics(labels, predicted, np.zeros(4), 1.0)


def test_score_margin_without_a_threshold_reviews_the_highest_scores():
    assert np.argmax(score_margin_priority(np.array([0.1, 0.9, 0.5]), math.inf)) == 1
