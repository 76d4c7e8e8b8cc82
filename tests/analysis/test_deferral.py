"""The review order's error probability and the subject bootstrap, on toy sets with known truth."""

import numpy as np
import pytest

from bvae_viewer.analysis.deferral import (
    LOG_MARGIN,
    DeferralError,
    ErrorModel,
    fit_error_model,
    log_margin,
    reliability,
    review_cutoff,
)
from bvae_viewer.analysis.evaluation.bootstrap import aurc_gain, aurc_intervals


def _toy(n=6000, seed=0):
    """Errors drawn with a known probability that falls with the log margin."""
    rng = np.random.default_rng(seed)
    threshold = 2.0
    scores = threshold * np.exp(rng.normal(0.0, 0.8, n))
    margin = log_margin(scores, threshold)
    p_true = 1.0 / (1.0 + np.exp(-(0.5 - 4.0 * margin)))
    errors = rng.random(n) < p_true
    return scores, threshold, margin, p_true, errors


def test_log_margin_is_symmetric_in_ratio_and_nan_where_undefined():
    m = log_margin(np.array([2.0, 0.5, 1.0, 0.0, np.nan, -1.0]), 1.0)
    assert m[0] == pytest.approx(m[1])
    assert m[2] == 0.0
    assert np.isnan(m[3:]).all()


def test_fitted_probability_is_calibrated_on_a_toy_set():
    _, _, margin, p_true, errors = _toy()
    model = fit_error_model({LOG_MARGIN: margin}, errors)
    assert model.coefficients[0] < 0  # farther from the line: fewer errors
    p = model.probability({LOG_MARGIN: margin})
    assert np.abs(p - p_true).mean() < 0.03
    table = reliability(p, errors)
    # Each decile's predicted mean is within 0.06 of its observed error rate.
    assert np.nanmax(np.abs(table[:, 0] - table[:, 1])) < 0.06
    assert table[:, 2].sum() == len(errors)


def test_missing_signal_means_review_and_a_round_trip_through_json():
    _, _, margin, _, errors = _toy(2000)
    model = fit_error_model({LOG_MARGIN: margin}, errors)
    p = model.probability({LOG_MARGIN: np.array([np.nan, 0.0])})
    assert p[0] == 1.0 and p[1] < 1.0
    assert ErrorModel.from_dict(model.to_dict()) == model
    with pytest.raises(DeferralError):
        model.probability({"other": margin})
    with pytest.raises(DeferralError):
        ErrorModel.from_dict({"features": ["a"], "coefficients": [], "intercept": 0})


def test_fit_refuses_one_sided_errors():
    with pytest.raises(DeferralError):
        fit_error_model({LOG_MARGIN: np.linspace(0, 1, 50)}, np.zeros(50, dtype=bool))


def test_review_cutoff_fills_the_budget():
    p = np.linspace(0.0, 1.0, 1001)
    cut = review_cutoff(p, 0.05)
    assert (p > cut).sum() == 50
    assert (p > review_cutoff(p, 0.0)).sum() == 0


def test_bootstrap_finds_a_real_gain_and_no_gain_for_the_same_order():
    _, _, margin, _, errors = _toy(3000, seed=1)
    subjects = np.repeat(np.arange(30), 100)
    rng = np.random.default_rng(2)
    random_order = rng.random(errors.size)
    gain = aurc_gain(errors, -margin, random_order, subjects, n_boot=200)
    assert gain.value > 0 and gain.excludes_zero
    same = aurc_gain(errors, -margin, -margin, subjects, n_boot=50)
    assert same.value == 0.0 and not same.excludes_zero
    intervals = aurc_intervals(errors, {"margin": -margin, "random": random_order}, subjects,
                               n_boot=200)
    assert intervals["margin"].low <= intervals["margin"].value <= intervals["margin"].high
    assert intervals["margin"].high < intervals["random"].low


def test_bootstrap_resamples_subjects_not_slices():
    # Two subjects: all errors in one. A slice bootstrap would keep the error share near 0.5
    # in every replicate; a subject bootstrap sometimes draws the error-free subject twice.
    errors = np.r_[np.ones(50, dtype=bool), np.zeros(50, dtype=bool)]
    subjects = np.r_[np.zeros(50), np.ones(50)]
    priority = np.random.default_rng(0).random(100)
    interval = aurc_intervals(errors, {"p": priority}, subjects, n_boot=200)["p"]
    assert interval.low == 0.0 and interval.high == 1.0


def test_the_bundled_model_ships_its_error_model() -> None:
    from bvae_viewer import paths
    from bvae_viewer.analysis.model_info import read_model_info

    model = read_model_info(paths.model_dir()).deferral
    assert model is not None and model.features == (LOG_MARGIN,)
    # Further from the line, less likely wrong; the cutoff is a probability.
    p = model.probability({LOG_MARGIN: np.array([0.0, 0.5, 2.0])})
    assert p[0] > p[1] > p[2] and 0.0 < model.review_cutoff < 1.0
