"""The queue's order without a window: findings, then review slices by calibrated P(wrong)
(or closeness to the line) with their reason, then flagged slices through each finding."""

from __future__ import annotations

import math

import numpy as np

from bvae_viewer.analysis.deferral import ErrorModel
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.maps import MapSet, SliceResult, SliceScores
from bvae_viewer.analysis.review_reasons import slice_review_reason
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui.queue_items import ReviewOrder, matches, queue_items
from bvae_viewer.review.store import ReviewStore

POLICY = TriagePolicy(score_threshold=1.0, uncertainty_threshold=0.1, review_band=1.2)
ERRORS = ErrorModel(("log_margin",), (-2.37,), 0.46)
#           0     1    2    3    4    5     6    7    8    9
SCORES = [0.95, 0.3, 2.0, 5.0, 3.0, 0.2, 0.4, 4.0, 0.5, math.nan]
UNC = [0.01, 0.01, 0.01, 0.01, 0.01, 0.5, 0.01, 0.01, 0.01, 0.01]


def case():
    blank = np.zeros((8, 8), np.float32)
    results, decisions = [], []
    for p, (score, unc) in enumerate(zip(SCORES, UNC, strict=True)):
        scores = SliceScores(100 + p, score, 0.0, 0.0, unc, 0.0, 0.0, 0.5)
        results.append(SliceResult(p, MapSet.empty(blank, blank > 0), scores))
        decisions.append(POLICY.decide_slice(scores))
    return results, decisions


def finding(number, positions, peak):
    return Finding(number, positions, positions, (positions[0], positions[-1]), peak,
                   SCORES[peak], (10.0, 10.0, 3.0), (0.0, 0.0, 0.0), "left", 0.3)


FINDINGS = [finding(1, (2, 3, 4), 3), finding(2, (7,), 7)]


def test_findings_then_review_by_p_wrong_then_flagged_through_each_finding():
    results, decisions = case()
    assert [decisions[p] for p in (0, 5, 9)] == [Decision.REVIEW] * 3
    items = queue_items(results, decisions, {}, ReviewOrder(POLICY, ERRORS), FINDINGS)
    assert [i.key for i in items[:2]] == [("finding", 1), ("finding", 2)]
    assert items[0].position == 3 and items[0].members == 3
    review = items[2:5]
    # Not scored (P = 1), then near the line, then far from it (only uncertain).
    assert [i.position for i in review] == [9, 0, 5]
    assert [i.short_reason for i in review] == ["not scored", "near the line", "uncertain"]
    assert review[1].reason == slice_review_reason(results[0].scores, POLICY)
    assert review[0].p_wrong == 1.0 and review[1].p_wrong > review[2].p_wrong
    # The flagged slices through finding 1, then finding 2 (not by score: 3, 4, 2...).
    assert [i.position for i in items[5:9]] == [2, 3, 4, 7]
    assert [i.position for i in items[9:]] == [8, 6, 1]  # normal, most anomalous first


def test_without_an_error_model_the_nearest_the_line_comes_first():
    results, decisions = case()
    items = queue_items(results, decisions, {}, ReviewOrder(POLICY), FINDINGS)
    review = [i for i in items if i.model == Decision.REVIEW]
    assert [i.position for i in review] == [9, 0, 5]
    assert all(i.p_wrong is None for i in review)


def test_a_finding_stays_listed_until_each_of_its_slices_is_settled(tmp_path):
    results, decisions = case()
    with ReviewStore(tmp_path / "r.sqlite") as store:
        session = store.open_session("c", "m")
        decided = {r.item_index: r for r in session.record_many(
            [(102, "abnormal", "flagged"), (103, "abnormal", "flagged")]
        )}
        items = queue_items(results, decisions, decided, ReviewOrder(POLICY), FINDINGS)
        first = items[0]
        assert first.decided == 2 and not first.settled
        assert all(matches(first, kind) for kind in ("review", "flagged", "undecided", "all"))
        decided |= {r.item_index: r for r in [session.record(104, "normal", "flagged")]}
        items = queue_items(results, decisions, decided, ReviewOrder(POLICY), FINDINGS)
        assert items[0].settled and not matches(items[0], "undecided")
        assert matches(items[0], "review")
