"""The cases of an open batch as the window keeps them, and their triage (plain Python).

Each case keeps its slice results for as long as the batch is open, so opening it shows the
maps at once; new thresholds re-decide every case from its kept scores, without the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bvae_viewer.analysis.case import assess_case
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.ood import ood_reasons
from bvae_viewer.analysis.triage import CaseDecision, TriagePolicy
from bvae_viewer.review.batch import BatchCase, CaseItem, CaseStatus, case_scores, order_cases
from bvae_viewer.review.store import DecisionRecord

if TYPE_CHECKING:  # the worker module pulls in torch; these are only annotations
    from bvae_viewer.gui.batch_worker import AnalysedCase
    from bvae_viewer.pipeline.case import LoadedCase


@dataclass
class CaseSlot:
    """Everything the window knows of one case of the batch (GUI thread only)."""

    case: BatchCase
    status: CaseStatus = CaseStatus.PENDING
    loaded: LoadedCase | None = None
    analysed: AnalysedCase | None = None  # kept for the batch: opening it runs nothing
    scores: tuple[SliceScores, ...] = ()  # in slice order
    ood: tuple[str, ...] = ()  # out-of-distribution reasons: fixed, whatever the thresholds
    decision: CaseDecision | None = None  # the model's call at the thresholds in force
    reason: str = ""  # why it could not be read
    reviewer: DecisionRecord | None = None
    in_window: bool = False  # being analysed by the window rather than the batch


def settle(
    slot: CaseSlot, analysed: AnalysedCase, calibration: Calibration, policy: TriagePolicy
) -> None:
    """A case with every slice analysed: its case decision, as the analysis module makes it."""
    result = assess_case(
        analysed.case.stack, [r.scores for r in analysed.results], calibration, policy
    )
    slot.analysed, slot.status = analysed, CaseStatus.DONE
    slot.scores, slot.decision = result.scores, result.case
    prepared = analysed.case.prepared  # an implausible brain extraction: review, as analyze
    front_end = (prepared.review_reason,) if prepared and prepared.review_reason else ()
    slot.ood = (*front_end, *ood_reasons(result.features, calibration.ood))
    if front_end:
        slot.decision = policy.decide_case(slot.scores, slot.ood)


def redecide(slots: Sequence[CaseSlot], policy: TriagePolicy) -> None:
    """The same call as assess_case at new thresholds: the volume checks do not depend on
    them, so the kept reasons and scores are all it needs."""
    for slot in slots:
        if slot.status == CaseStatus.DONE:
            slot.decision = policy.decide_case(slot.scores, slot.ood)


def case_items(slots: Sequence[CaseSlot]) -> list[CaseItem]:
    """The case queue in review order."""
    items = []
    for position, slot in enumerate(slots):
        score, unc = case_scores(slot.scores) if slot.scores else (math.nan, math.nan)
        decision = slot.decision
        reason = slot.reason or ("; ".join(decision.reasons) if decision else "")
        items.append(
            CaseItem(
                position,
                slot.case.name,
                slot.status,
                decision.decision if decision is not None else None,
                score,
                unc,
                reason,
                slot.reviewer,
            )
        )
    return order_cases(items)
