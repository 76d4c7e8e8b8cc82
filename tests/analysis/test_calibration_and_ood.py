import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bvae_viewer.analysis.calibrate import (
    ValidationCase,
    calibrate,
    choose_alpha,
    choose_case_rule,
    choose_review_band,
    choose_review_rule,
    choose_scoring,
    rescore,
    run_level,
)
from bvae_viewer.analysis.case import assess_case, write_case_outputs
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.ood import histogram_distance, ood_reasons, volume_features
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.data.preprocess import preprocess_volume
from bvae_viewer.io.volume import Volume, VolumeMetadata
from tests.volumes import brain_phantom

MAPS = ("aleatoric", "epistemic", "total", "error", "pixel_score")


def _stack(image):
    vol = Volume(image, (1.0, 1.0, 1.0), np.eye(4), VolumeMetadata("nifti"), Path("x"))
    return preprocess_volume(vol)


def _scores(stack, labels, rng, shift=0.0):
    out = []
    for i in range(len(stack)):
        if not stack.has_brain[i]:
            out.append(SliceScores(i, math.nan, *([math.nan] * 5), 0.0, empty=True))
            continue
        err = 0.002 + 0.0005 * rng.standard_normal() + (0.004 if labels[i] else 0) + shift
        pix = 1.0 + 0.1 * rng.standard_normal() + (0.3 if labels[i] else 0)
        unc = 0.003 + 0.0005 * rng.standard_normal()
        nll = 1.0 + 0.05 * rng.random()
        out.append(SliceScores(i, 0.5 * err + 0.5 * pix, err, pix, unc, unc / 3, 2 * unc / 3,
                               float(stack.brain_fraction[i]), latent_nll=nll))
    return tuple(out)


def _validation(n=6, seed=0):
    rng = np.random.default_rng(seed)
    cases = []
    for c in range(n):
        image, seg = brain_phantom(tumour=c % 2 == 0, seed=c)
        stack = _stack(image)
        labels = (seg > 0).any(axis=(0, 1))
        scores = _scores(stack, labels, rng)
        cases.append(ValidationCase(f"c{c}", scores, labels, volume_features(stack, scores),
                                    {m: 0.01 * (k + 1) for k, m in enumerate(MAPS)}))
    return cases


def test_choose_alpha_prefers_the_informative_term():
    rng = np.random.default_rng(1)
    labels = rng.random(400) < 0.3
    informative = labels + 0.5 * rng.standard_normal(400)
    noise = rng.standard_normal(400)
    alpha, auc = choose_alpha(informative, noise, labels)
    assert alpha >= 0.9 and auc > 0.8
    alpha, _ = choose_alpha(noise, informative, labels)
    assert alpha <= 0.1


def test_choose_scoring_takes_the_peak_only_when_it_ranks_better():
    rng = np.random.default_rng(1)
    labels = rng.random(400) < 0.3
    informative = labels + rng.normal(0, 0.3, 400)
    noise = rng.normal(0, 1, 400)
    reduction, _, auc = choose_scoring(noise, noise, informative, labels)
    assert reduction == "peak" and auc > 0.9
    assert choose_scoring(noise, informative, noise, labels)[0] == "mean"
    # Scores from before the peak existed carry NaN: the paper's mean it is.
    assert choose_scoring(noise, informative, np.full(400, np.nan), labels)[0] == "mean"


def test_run_level_is_the_line_a_run_clears():
    scores = np.array([1.0, 5.0, 4.0, 0.5, 9.0])
    assert run_level(scores, 1) == 9.0
    assert run_level(scores, 2) == 4.0  # slices 1-2 both exceed anything below 4
    assert run_level(scores, 6) == -np.inf


def test_case_rule_flags_the_most_tumours_and_no_healthy_case():
    t = 1.0
    # Healthy cases: long runs just above the slice line, and one isolated spike.
    healthy = [np.array([0.5, 1.2, 1.3, 1.1, 1.2, 0.4]), np.array([0.2, 6.0, 0.3, 0.2])]
    # A large tumour (long run) and a small one (two slices far above the line).
    tumour = [np.array([0.3, 2.0, 2.5, 3.0, 2.2, 2.1, 0.3]), np.array([0.2, 0.4, 8.0, 7.5, 0.3])]
    run, factor = choose_case_rule(healthy, tumour, t)
    line = t * factor
    assert factor >= 1.0
    assert all(run_level(h, run) <= line for h in healthy)
    assert all(run_level(x, run) > line for x in tumour)
    # The old rule (runs over the slice line only) could not catch both without a healthy case.
    assert run == 2 and factor == pytest.approx(1.2)
    # No healthy case to learn from: the old default.
    assert choose_case_rule([], tumour, t) == (2, 1.0)



def test_review_rule_catches_small_tumours_for_the_fewest_healthy_cases():
    t = 1.0
    healthy = [np.array([0.2, 0.9, 0.3, 0.2, 0.3]), np.array([0.3, 0.7, 0.7, 0.2]),
               np.array([0.2, 0.3, 0.4, 0.3])]
    # Two large tumours the flag rule (3 slices above 1.5) catches, and one small one whose
    # slices all score below the slice line.
    large = [np.array([0.2, 2.0, 2.5, 2.2, 0.3]), np.array([0.3, 4.0, 3.0, 2.0, 1.9])]
    small = np.array([0.2, 0.8, 0.85, 0.3])
    run, factor = choose_review_rule(healthy, [*large, small], t, (3, 1.5))
    # A run of two above just under 0.8 catches the small tumour, and no healthy case has two
    # neighbouring slices above 0.7; a run of one would need a line under 0.85 and send the
    # first healthy case (0.9) to review.
    assert run == 2 and factor == pytest.approx(0.8)
    assert all(run_level(h, run) <= factor * t for h in healthy)
    # Every tumour already flagged, or no tumour to learn from: no review rule.
    assert choose_review_rule(healthy, large, t, (3, 1.5)) == (0, 1.0)
    assert choose_review_rule(healthy, [], t, (3, 1.5)) == (0, 1.0)


def test_review_band_fills_the_review_budget_nearest_the_line_first():
    score = np.array([0.5, 0.9, 1.05, 1.2, 2.0, 4.0, 0.95, 3.0, 0.2, 10.0])
    uncertain = np.zeros(10, dtype=bool)
    uncertain[9] = True  # one slice already goes to review by its uncertainty
    band = choose_review_band(score, uncertain, 1.0, rate=0.4)  # room for 3 more
    inside = (score > 1.0 / band) & (score <= band)
    assert inside.sum() == 3 and set(score[inside]) == {0.95, 1.05, 0.9}
    assert choose_review_band(score, np.ones(10, dtype=bool), 1.0, 0.4) == 1.0  # no room


def test_calibrated_review_rate_is_the_target():
    from bvae_viewer.analysis.calibrate import TARGET_REVIEW_RATE
    from bvae_viewer.analysis.triage import TriagePolicy

    cases = _validation(n=10)
    cal = calibrate(cases)
    assert cal.review_band > 1.0
    policy = TriagePolicy.from_calibration(cal)
    brain = [s for c in cases for s in c.scores if not s.empty]
    rescored = [rescore(s, cal.alpha, cal.reduction) for s in brain]
    review = np.mean([policy.decide_slice(s) == Decision.REVIEW for s in rescored])
    assert 0.5 * TARGET_REVIEW_RATE <= review <= TARGET_REVIEW_RATE + 0.01


def test_calibration_keeps_healthy_validation_cases_normal():
    cases = _validation()
    cal = calibrate(cases)
    assert 0 <= cal.alpha <= 1
    assert math.isfinite(cal.score_threshold) and math.isfinite(cal.uncertainty_threshold)
    assert set(cal.map_levels) == set(MAPS)
    for case in cases:
        image, _ = brain_phantom(tumour=not case.healthy, seed=int(case.case_id[1:]))
        result = assess_case(_stack(image), [rescore(s, cal.alpha) for s in case.scores], cal)
        if case.healthy:
            assert result.case.decision == Decision.NORMAL, result.case.reasons
        else:
            assert result.case.decision == Decision.FLAGGED


def test_out_of_distribution_volumes_go_to_review():
    cases = _validation()
    cal = calibrate(cases)
    rng = np.random.default_rng(5)
    image, _ = brain_phantom(seed=1)
    labels = np.zeros(image.shape[2], bool)
    # Another contrast: bright CSF, dark white matter (T2-like inversion inside the brain).
    inverted = np.where(image > 0, image.max() * 1.05 - image, 0).astype(np.float32)
    # Pure noise filling the whole field of view.
    noise = rng.random(image.shape).astype(np.float32) * 1000
    for ood in (inverted, noise):
        stack = _stack(ood)
        result = assess_case(stack, _scores(stack, labels, rng), cal)
        assert result.case.decision == Decision.REVIEW
        assert result.case.reasons
        assert Decision.NORMAL not in result.decisions


def test_volume_level_reconstruction_error_alone_triggers_review():
    cal = calibrate(_validation())
    image, _ = brain_phantom(seed=2)
    stack = _stack(image)
    labels = np.zeros(len(stack), bool)
    scores = _scores(stack, labels, np.random.default_rng(0), shift=0.05)
    reasons = ood_reasons(volume_features(stack, scores), cal.ood)
    assert "the reconstruction error is high throughout" in reasons


def _without_latent(case: ValidationCase) -> ValidationCase:
    scores = tuple(replace(s, latent_nll=math.nan) for s in case.scores)
    return replace(case, scores=scores, features=replace(case.features, latent_nll=math.nan))


def test_methods_without_a_latent_likelihood_are_calibrated_and_not_sent_to_review():
    # Reverse Distillation and the Probabilistic U-Net report latent_nll = NaN: the OOD check
    # must skip that signal, not call every case unlike the training data.
    cases = [_without_latent(c) for c in _validation()]
    cal = calibrate(cases)
    assert cal.ood["latent_nll_max"] is None
    assert all(math.isfinite(cal.ood[k]) for k in ("recon_error_max", "unc_total_max"))
    for case in cases:
        assert ood_reasons(case.features, cal.ood) == []
        image, _ = brain_phantom(tumour=not case.healthy, seed=int(case.case_id[1:]))
        result = assess_case(_stack(image), [rescore(s, cal.alpha) for s in case.scores], cal)
        assert result.case.decision != Decision.REVIEW, result.case.reasons
    json.dumps(cal.ood, allow_nan=False)  # None is plain JSON; NaN would not be
    image, _ = brain_phantom(seed=2)
    stack = _stack(image)
    shifted = _scores(stack, np.zeros(len(stack), bool), np.random.default_rng(0), shift=0.05)
    features = replace(volume_features(stack, shifted), latent_nll=math.nan)
    assert ood_reasons(features, cal.ood) == ["the reconstruction error is high throughout"]


def test_histogram_distance_bounds():
    assert histogram_distance([0.5, 0.5], [0.5, 0.5]) == 0
    assert histogram_distance([1, 0], [0, 1]) == 1


def test_case_outputs_are_complete_and_replace_atomically(tmp_path):
    cases = _validation(4)
    cal = calibrate(cases)
    image, _ = brain_phantom(seed=0, tumour=True)
    stack = _stack(image)
    result = assess_case(stack, cases[0].scores, cal)
    result.extra["model"] = {"sha256": "abc"}
    out = tmp_path / "out"
    write_case_outputs(result, out)
    rows = (out / "slices.csv").read_text().splitlines()
    header = rows[0].split(",")
    for column in ("slice", "anomaly_score", "recon_error", "unc_total", "unc_epistemic",
                   "unc_aleatoric", "brain_fraction", "decision"):
        assert column in header
    assert len(rows) == 1 + len(stack)
    decisions = {r.split(",")[header.index("decision")] for r in rows[1:]}
    assert decisions <= {"normal", "flagged", "review", "empty"} and "empty" in decisions
    def refuse(constant: str) -> None:
        raise AssertionError(f"case.json holds {constant}, which JSON does not allow")

    case = json.loads((out / "case.json").read_text(), parse_constant=refuse)
    assert case["decision"] in {"normal", "flagged", "review"}
    assert case["model"]["sha256"] == "abc"
    write_case_outputs(result, out)  # a second run replaces the files in place
    assert sorted(p.name for p in out.iterdir()) == ["case.json", "slices.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
