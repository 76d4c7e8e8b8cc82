"""What the review queue lists and the threshold panel counts (plain Python, no Qt).

The queue holds the analysed brain slices of the open case: its findings first (runs of
flagged slices, gui.findings_queue), then the slices the model is unsure about, most likely
wrong first (the model's calibrated error probability, analysis.deferral; without one, the
nearest the score line first), each with the reason it is there; then the flagged slices in
order through each finding, then the rest, most anomalous first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bvae_viewer.analysis.deferral import LOG_MARGIN, DeferralError, ErrorModel, log_margin
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.review_reasons import slice_review_reason, slice_review_short
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.review.store import DecisionRecord, ReviewDecision

FILTERS = ("review", "flagged", "undecided", "all")


@dataclass(frozen=True)
class QueueItem:
    """One slice in the queue: where it is, what the model said, what the reviewer said."""

    position: int  # in the SliceStack (what ViewState.slice counts)
    slice_index: int  # axial index in the volume (what the review store keys on)
    model: Decision
    score: float
    uncertainty: float
    reviewer: DecisionRecord | None = None
    reason: str = ""  # why a review slice is in review: the sentence (review_reasons)
    short_reason: str = ""  # the same, in a few words for the row
    p_wrong: float | None = None  # calibrated probability that the model's call is wrong
    finding: Finding | None = None  # a finding's row (position: its peak slice)
    decided: int = 0  # a finding's row: how many of its slices are settled...
    members: int = 0  # ...of how many analysed brain slices
    number: int = 0  # the input's own slice number, from 1 (0: not known, show slice_index)

    @property
    def key(self) -> tuple[str, int]:
        """Which row this is, whatever the order: a finding's number or a slice's position."""
        if self.finding is not None:
            return ("finding", self.finding.number)
        return ("slice", self.position)

    @property
    def settled(self) -> bool:
        """Decided abnormal or normal (a deferred slice still waits for a decision); a
        finding when every slice of it is."""
        if self.finding is not None:
            return 0 < self.members <= self.decided
        return self.reviewer is not None and self.reviewer.decision != ReviewDecision.DEFER


@dataclass(frozen=True)
class ReviewOrder:
    """What orders the review slices and says why they are there."""

    policy: TriagePolicy | None = None
    error_model: ErrorModel | None = None  # ModelInfo.deferral; None: by distance from line
    case_reason: str = ""  # for a slice in review only because the whole case is


def _urgency(value: float) -> float:
    # Non-finite scores cannot be ranked, so they count as the most urgent.
    return -value if math.isfinite(value) else -math.inf


def queue_items(
    results: Sequence[Any],
    decisions: Sequence[Decision | None],
    reviewed: Mapping[int, DecisionRecord],
    order: ReviewOrder | None = None,
    findings: Sequence[Finding] = (),
) -> list[QueueItem]:
    """Analysed brain slices in review order (results: SliceResult or None, by position),
    after one row per finding."""
    order = order or ReviewOrder()
    items = []
    for result, decision in zip(results, decisions, strict=True):
        if result is None or decision is None or decision == Decision.EMPTY:
            continue
        s = result.scores
        items.append(
            QueueItem(
                result.position,
                s.slice_index,
                decision,
                s.anomaly_score,
                s.unc_total,
                reviewed.get(s.slice_index),
            )
        )
    review = explain_review([i for i in items if i.model == Decision.REVIEW], results, order)
    run_of = {p: f.number for f in findings for p in f.positions}
    flagged = sorted(
        (i for i in items if i.model == Decision.FLAGGED),
        key=lambda i: (run_of.get(i.position, math.inf), i.position),
    )
    normal = sorted(
        (i for i in items if i.model == Decision.NORMAL),
        key=lambda i: (_urgency(i.score), i.position),
    )
    return [*finding_rows(findings, items, results), *review, *flagged, *normal]


def explain_review(
    items: Sequence[QueueItem], results: Sequence[Any], order: ReviewOrder
) -> list[QueueItem]:
    """Review slices with their reason and error probability, most likely wrong first."""
    if order.policy is None:
        return sorted(items, key=lambda i: (_urgency(i.score), i.position))
    scores = [results[i.position].scores for i in items]
    p_wrong = error_probability(scores, order)
    margin = log_margin(np.array([s.anomaly_score for s in scores]), order.policy.score_threshold)
    explained = []
    for item, s, p in zip(items, scores, p_wrong, strict=True):
        reason = slice_review_reason(s, order.policy) or order.case_reason
        short = slice_review_short(s, order.policy) or ("whole case" if order.case_reason else "")
        explained.append(replace(item, reason=reason, short_reason=short, p_wrong=p))
    # Most likely wrong first; without an error model, the nearest the line first (a NaN
    # margin is a slice the model could not score: first of all).
    rank = [
        -p if p is not None else (m if math.isfinite(m) else -math.inf)
        for p, m in zip(p_wrong, margin, strict=True)
    ]
    ordered = sorted(
        zip(rank, explained, strict=True),
        key=lambda pair: (pair[0], _urgency(pair[1].score), pair[1].position),
    )
    return [item for _rank, item in ordered]


def error_probability(scores: Sequence[Any], order: ReviewOrder) -> list[float | None]:
    """P(wrong) per slice from the model's error model; None each when it has none (or
    needs a signal these scores do not carry)."""
    if order.error_model is None or order.policy is None or not scores:
        return [None] * len(scores)
    signals = {
        LOG_MARGIN: log_margin(
            np.array([s.anomaly_score for s in scores]), order.policy.score_threshold
        ),
        "score_spread": np.array([s.score_spread for s in scores], dtype=float),
    }
    try:
        return [float(p) for p in order.error_model.probability(signals)]
    except DeferralError:
        return [None] * len(scores)


def finding_rows(
    findings: Sequence[Finding], items: Sequence[QueueItem], results: Sequence[Any]
) -> list[QueueItem]:
    """One row per finding, numbered as find_findings numbered them (highest peak first)."""
    by_position = {i.position: i for i in items}
    rows = []
    for f in findings:
        peak = results[f.peak_position]
        members = [by_position[p] for p in f.positions if p in by_position]
        rows.append(
            QueueItem(
                f.peak_position,
                peak.scores.slice_index if peak is not None else -1,
                Decision.FLAGGED,
                f.peak_score,
                math.nan,
                finding=f,
                decided=sum(m.settled for m in members),
                members=len(members),
            )
        )
    return rows


def matches(item: QueueItem, kind: str) -> bool:
    """Whether an item passes one of FILTERS. A finding is what a reviewer looks at first:
    listed under every filter until each of its slices is settled."""
    if item.finding is not None:
        return kind != "undecided" or not item.settled
    if kind == "review":
        return item.model == Decision.REVIEW
    if kind == "flagged":
        return item.model == Decision.FLAGGED
    if kind == "undecided":
        return not item.settled
    return True


def step_through(shown: Sequence[int], position: int | None, step: int) -> int | None:
    """The item ``step`` rows after ``position`` in the listed order; from outside the list,
    the first (stepping forward) or the last; None past either end."""
    if not shown:
        return None
    if position not in shown:
        return shown[0] if step > 0 else shown[-1]
    row = list(shown).index(position) + step
    return shown[row] if 0 <= row < len(shown) else None


def triage_counts(decisions: Sequence[Decision | None]) -> dict[Decision, int]:
    """How many slices each decision has (slices not analysed yet are not counted)."""
    counts = {d: 0 for d in Decision}
    for d in decisions:
        if d is not None:
            counts[d] += 1
    return counts


@dataclass(frozen=True)
class Coverage:
    """Of the brain slices decided so far: how many the model decides alone."""

    automatic: int  # normal or flagged
    review: int

    @property
    def brain(self) -> int:
        return self.automatic + self.review

    @property
    def fraction(self) -> float:
        return self.automatic / self.brain if self.brain else float("nan")


def case_coverage(decisions: Sequence[Decision | None]) -> Coverage:
    counts = triage_counts(decisions)
    return Coverage(counts[Decision.NORMAL] + counts[Decision.FLAGGED], counts[Decision.REVIEW])


def coverage_curve(
    uncertainties: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Share of slices kept automatic as the uncertainty threshold rises (x sorted, y in 0..1).

    The triage sends a slice to review when its uncertainty is above the threshold, so the
    share kept at threshold t is the fraction of slices with uncertainty <= t: the empirical
    distribution function of the uncertainties. A non-finite value is a slice that goes to
    review whatever the threshold (see review_regardless): it counts, but is never kept.
    """
    total = len(uncertainties)
    u = np.sort(np.asarray([v for v in uncertainties if math.isfinite(v)], dtype=float))
    if u.size == 0:
        return u, u
    return u, np.arange(1, u.size + 1, dtype=float) / total


def review_regardless(
    uncertainties: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    policy: TriagePolicy,
) -> np.ndarray:
    """The uncertainties with +inf where the score alone sends the slice to review (near the
    threshold, or not finite): no uncertainty threshold would let the model decide those."""
    score = np.asarray(scores, dtype=float)
    unc = np.asarray(uncertainties, dtype=float)
    if unc.shape != score.shape:
        raise ValueError("One uncertainty per score is needed.")
    regardless = ~np.isfinite(score) | policy.near_line_mask(score)
    return np.where(regardless, math.inf, unc)


@dataclass(frozen=True)
class ValidationSlices:
    """Per-slice validation scores, when model.json carries them (metrics.validation.slices)."""

    anomaly_score: np.ndarray
    unc_total: np.ndarray
    abnormal: np.ndarray  # bool


@dataclass(frozen=True)
class ValidationPreview:
    coverage: float  # share of validation slices decided automatically
    error_rate: float | None  # wrong automatic decisions among those
    abnormal_in_review: float  # share of abnormal validation slices sent to review


def validation_slices(metrics: Mapping[str, Any]) -> ValidationSlices | None:
    """The validation slices in a model's metrics, or None when it does not carry them.

    Expected: metrics["validation"]["slices"] = {"anomaly_score": [...], "unc_total": [...],
    "abnormal": [...]}, brain slices only, scored with the model's calibrated alpha.
    """
    try:
        raw = metrics["validation"]["slices"]
        score = np.asarray(raw["anomaly_score"], dtype=float)
        unc = np.asarray(raw["unc_total"], dtype=float)
        abnormal = np.asarray(raw["abnormal"], dtype=bool)
    except (KeyError, TypeError, ValueError):
        return None
    if score.ndim != 1 or score.size == 0 or not score.shape == unc.shape == abnormal.shape:
        return None
    return ValidationSlices(score, unc, abnormal)


def validation_preview(data: ValidationSlices, policy: TriagePolicy) -> ValidationPreview:
    """The triage at these thresholds on the validation slices (labels known there).

    As TriagePolicy.decide_slice: review where a score is not finite, the uncertainty is
    above its threshold or the score near it, otherwise flagged above the score threshold
    (flagged = "abnormal").
    """
    finite = np.isfinite(data.unc_total) & np.isfinite(data.anomaly_score)
    near = policy.near_line_mask(data.anomaly_score)
    automatic = (
        finite & (np.nan_to_num(data.unc_total) <= policy.uncertainty_threshold) & ~near
    )
    predicted = data.anomaly_score > policy.score_threshold
    n_auto = int(automatic.sum())
    wrong = int((automatic & (predicted != data.abnormal)).sum())
    abnormal = int(data.abnormal.sum())
    return ValidationPreview(
        coverage=n_auto / data.abnormal.size,
        error_rate=wrong / n_auto if n_auto else None,
        abnormal_in_review=(
            int((~automatic & data.abnormal).sum()) / abnormal if abnormal else 0.0
        ),
    )
