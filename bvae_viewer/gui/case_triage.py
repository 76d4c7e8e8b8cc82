"""Slice decisions of the open case at given thresholds, from results already computed.

Changing a threshold re-runs only this: the network's maps and scores stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bvae_viewer.analysis.case import CaseResult, assess_case
from bvae_viewer.analysis.frontend_review import with_front_end
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.data.frontend import PreparedInput
from bvae_viewer.data.preprocess import SliceStack


@dataclass(frozen=True)
class Triage:
    decisions: list[Decision | None]  # by stack position; None: not analysed yet
    case: CaseResult | None  # only once every slice is analysed


def triage_results(
    stack: SliceStack,
    results: Sequence[Any],
    calibration: Calibration,
    policy: TriagePolicy,
    prepared: PreparedInput | None = None,
) -> Triage:
    """Per-slice decisions; with every slice analysed, also the case call and the
    out-of-distribution check, which then keeps any slice from being cleared as normal. A
    front end that found the brain extraction implausible (prepared.review_reason) sends the
    case to review and clears no slice as normal, as `analyze` does."""
    if results and all(r is not None for r in results):
        case = assess_case(stack, [r.scores for r in results], calibration, policy)
        if prepared is not None:
            case = with_front_end(case, prepared)
        by_index = {s.slice_index: d for s, d in zip(case.scores, case.decisions, strict=True)}
        return Triage([by_index[r.scores.slice_index] for r in results], case)
    doubtful = prepared is not None and prepared.review_reason is not None
    decisions = [policy.decide_slice(r.scores) if r is not None else None for r in results]
    if doubtful:  # nothing cleared as normal while the extraction is in doubt
        decisions = [Decision.REVIEW if d == Decision.NORMAL else d for d in decisions]
    return Triage(decisions, None)
