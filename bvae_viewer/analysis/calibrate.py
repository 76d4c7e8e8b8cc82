"""Choose alpha, thresholds, display levels and the OOD reference on validation cases."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import roc_auc_score

from bvae_viewer.analysis.maps import SliceScores, anomaly_score, anomaly_scores
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.ood import VolumeFeatures, fit_reference
from bvae_viewer.analysis.triage import Decision, TriagePolicy

# Specificity the score threshold keeps on normal validation slices: flags must be rare on
# healthy brains, or the flagged pile stops meaning anything.
TARGET_SPECIFICITY = 0.97
# Share of validation brain slices sent to review: a few by the uncertainty threshold (the
# strangest slices), the rest by the band around the score threshold. Measured on the bundled
# model's validation and held-out slices: deferring by the mean uncertainty alone sent slices
# the model had right (6 % wrong among them, 21 % among the rest); a band of the same size
# sends slices it errs on (40-48 % wrong) and lowers the error of the rest.
TARGET_REVIEW_RATE = 0.05
UNCERTAINTY_REVIEW_RATE = 0.01
ALPHA_GRID = (*np.round(np.linspace(0.0, 1.0, 21), 3).tolist(), 0.99, 0.999, 0.9999)
# Run lengths tried by the case rule (a run of 1 is "one slice far above the line").
CASE_RUNS = tuple(range(1, 13))
# Share of validation tumour cases the case rules must not call normal (flagged or review):
# the bar of at most 1 in 20 tumour subjects missed. The flag rule keeps every
# healthy validation case out; the review rule reaches this share for what it costs in
# healthy cases sent to review, which the held-out evaluation reports.
TARGET_CASE_SENSITIVITY = 0.95


@dataclass(frozen=True)
class ValidationCase:
    """One validation case after inference."""

    case_id: str
    scores: tuple[SliceScores, ...]  # slice order
    labels: np.ndarray  # (Z,) bool
    features: VolumeFeatures
    map_p99: dict[str, float]  # 99.5th percentile over brain pixels of each map

    @property
    def healthy(self) -> bool:
        return not bool(self.labels.any())


def _brain_arrays(cases: Sequence[ValidationCase]) -> tuple[np.ndarray, ...]:
    err, pix, peak, unc, lab = [], [], [], [], []
    for case in cases:
        for s, label in zip(case.scores, case.labels, strict=True):
            if not s.empty:
                err.append(s.recon_error)
                pix.append(s.pixel_score_mean)
                peak.append(s.pixel_score_peak)
                unc.append(s.unc_total)
                lab.append(bool(label))
    return tuple(np.array(a) for a in (err, pix, peak, unc, lab))


def choose_alpha(err: np.ndarray, pix: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Alpha of eq. 15 with the best slice ROC AUC; returns (alpha, auc)."""
    if labels.all() or not labels.any():
        return 0.5, float("nan")
    best = (0.5, -1.0)
    for alpha in ALPHA_GRID:
        auc = float(roc_auc_score(labels, alpha * err + (1 - alpha) * pix))
        if auc > best[1]:
            best = (float(alpha), auc)
    return best


def choose_scoring(
    err: np.ndarray, pix: np.ndarray, peak: np.ndarray, labels: np.ndarray
) -> tuple[str, float, float]:
    """The A_pixel reduction and alpha with the best slice ROC AUC: (reduction, alpha, auc).

    The paper's mean wins ties; the peak is only a candidate where every slice has one
    (scores from before it existed carry NaN).
    """
    best = ("mean", *choose_alpha(err, pix, labels))
    if np.isfinite(peak).all() and len(peak):
        alpha, auc = choose_alpha(err, peak, labels)
        if auc > best[2]:
            best = ("peak", alpha, auc)
    return best


def rescore(scores: SliceScores, alpha: float, reduction: str = "mean") -> SliceScores:
    """The same slice under another alpha and reduction (eq. 15 is linear in its terms)."""
    value = anomaly_score(
        scores.recon_error, scores.pixel_score_mean, scores.pixel_score_peak, alpha, reduction
    )
    return replace(scores, anomaly_score=value)


def run_level(scores: np.ndarray, run: int) -> float:
    """The highest level that ``run`` consecutive scores all exceed (-inf if too few)."""
    if len(scores) < run:
        return -np.inf
    return float(np.lib.stride_tricks.sliding_window_view(scores, run).min(axis=1).max())


def choose_case_rule(
    healthy: Sequence[np.ndarray], tumour: Sequence[np.ndarray], score_threshold: float
) -> tuple[int, float]:
    """(min_flagged_run, case_score_factor) flagging the most tumour cases and no healthy one.

    For each run length the line sits just where no healthy case has that many slices above
    it (never below the slice threshold); ties go to the longer run, which one noisy slice
    cannot trigger. Arrays are brain-slice scores in slice order.
    """
    if not healthy or not score_threshold > 0:
        return 2, 1.0
    best: tuple[float, int, float] = (-1.0, 2, 1.0)
    for run in CASE_RUNS:
        line = max(score_threshold, max(run_level(h, run) for h in healthy))
        found = float(np.mean([run_level(t, run) > line for t in tumour])) if tumour else 0.0
        if found >= best[0]:
            best = (found, run, line / score_threshold)
    return best[1], best[2]


def choose_review_rule(
    healthy: Sequence[np.ndarray],
    tumour: Sequence[np.ndarray],
    score_threshold: float,
    flag_rule: tuple[int, float],
) -> tuple[int, float]:
    """(review_run, review_score_factor) sending enough unflagged tumour cases to review for
    TARGET_CASE_SENSITIVITY, with the fewest healthy cases sent there ((0, 1.0): no rule
    needed, or nothing to choose from).

    For each run length the line sits just below the level of the last tumour case it must
    catch; ties go to the longer run. Arrays are brain-slice scores in slice order.
    """
    if not tumour or not score_threshold > 0:
        return 0, 1.0
    flag_run, flag_factor = flag_rule
    flag_line = flag_factor * score_threshold
    missed = [t for t in tumour if run_level(t, flag_run) <= flag_line]
    allowed = int(np.floor((1 - TARGET_CASE_SENSITIVITY) * len(tumour)))
    if len(missed) <= allowed:
        return 0, 1.0
    best: tuple[int, int, float] | None = None  # (healthy reviewed, -run, line)
    for run in CASE_RUNS:
        levels = np.sort([run_level(t, run) for t in missed])
        level = levels[allowed]  # the lowest level the rule must still catch
        if not np.isfinite(level) or level <= 0:
            continue
        line = float(np.nextafter(level, -np.inf))
        cost = sum(run_level(h, run) > line for h in healthy)
        candidate = (cost, -run, line)
        if best is None or candidate[:2] <= best[:2]:
            best = candidate
    if best is None:
        return 0, 1.0
    return -best[1], best[2] / score_threshold


def choose_review_band(
    score: np.ndarray, uncertain: np.ndarray, threshold: float, rate: float
) -> float:
    """The widest band (a factor >= 1 around ``threshold``) that, with the slices already
    ``uncertain``, sends at most ``rate`` of the slices to review."""
    if not threshold > 0 or not len(score):
        return 1.0
    distance = np.abs(np.log(np.maximum(score, 1e-12) / threshold))
    free = distance[~uncertain]
    room = int(np.floor(rate * len(score))) - int(uncertain.sum())
    if room <= 0 or not len(free):
        return 1.0
    # The band reaches out to the room-th nearest slice.
    edge = np.sort(free)[min(room, len(free)) - 1]
    return float(np.exp(edge)) if edge > 0 else 1.0


def calibrate_slices(
    err: np.ndarray,
    pix: np.ndarray,
    peak: np.ndarray,
    unc: np.ndarray,
    labels: np.ndarray,
    alpha: float | None = None,
) -> Calibration:
    """The slice rules of the calibration, from brain slices' brain means: the scoring
    (alpha and reduction, unless alpha is fixed: then the mean), the score threshold at
    TARGET_SPECIFICITY on normal slices, the uncertainty threshold sending
    UNCERTAINTY_REVIEW_RATE to review and the review band filling TARGET_REVIEW_RATE.
    A method without uncertainty (NaN) never sends a slice to review by it."""
    labels = np.asarray(labels, dtype=bool)
    if alpha is None:
        pix_finite = np.nan_to_num(pix, nan=0.0, posinf=0.0)
        reduction, alpha, _ = choose_scoring(err, pix_finite, peak, labels)
    else:
        reduction = "mean"
    score = anomaly_scores(err, pix, peak, alpha, reduction)
    normal = score[~labels] if (~labels).any() else score
    score_threshold = float(np.quantile(normal, TARGET_SPECIFICITY))
    finite = np.asarray(unc, dtype=float)[np.isfinite(unc)]
    uncertainty_threshold = (
        float(np.quantile(finite, 1 - UNCERTAINTY_REVIEW_RATE)) if finite.size else math.inf
    )
    with np.errstate(invalid="ignore"):
        uncertain = np.asarray(unc, dtype=float) > uncertainty_threshold
    band = choose_review_band(score, uncertain, score_threshold, TARGET_REVIEW_RATE)
    return Calibration(
        alpha=float(alpha),
        reduction=reduction,
        score_threshold=score_threshold,
        uncertainty_threshold=uncertainty_threshold,
        review_band=band,
    )


def calibrate(cases: Sequence[ValidationCase]) -> Calibration:
    """Everything in Calibration from validation cases (tumour and healthy ones)."""
    slices = calibrate_slices(*_brain_arrays(cases))
    alpha, reduction = slices.alpha, slices.reduction
    score_threshold = slices.score_threshold
    policy = TriagePolicy.from_calibration(slices)
    # Case rules: no healthy validation case may be flagged or sent to review by chance.
    review_fractions = [0.0]
    healthy, tumour = [], []
    for case in cases:
        rescored = [rescore(s, alpha, reduction) for s in case.scores]
        brain = [s for s in rescored if not s.empty]
        if not brain:
            continue
        review = sum(policy.decide_slice(s) == Decision.REVIEW for s in brain)
        review_fractions.append(review / len(brain))
        (healthy if case.healthy else tumour).append(np.array([s.anomaly_score for s in brain]))
    min_run, factor = choose_case_rule(healthy, tumour, score_threshold)
    review_run, review_factor = choose_review_rule(
        healthy, tumour, score_threshold, (min_run, factor)
    )
    levels = {
        name: (0.0, float(np.median([c.map_p99[name] for c in cases]))) for name in cases[0].map_p99
    }
    return replace(
        slices,
        min_flagged_run=min_run,
        case_score_factor=factor,
        review_run=review_run,
        review_score_factor=review_factor,
        max_review_fraction=max(0.1, max(review_fractions) * 1.2),
        map_levels=levels,
        ood=fit_reference([c.features for c in cases]),
    )
