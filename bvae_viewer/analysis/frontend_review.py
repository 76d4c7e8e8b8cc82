"""The front end's word on a case: its review reason, and the decisions on the input's slices."""

from __future__ import annotations

from dataclasses import replace

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.triage import CaseDecision, Decision
from bvae_viewer.data.frontend import PreparedInput

# Worst first: an input slice takes the worst call of the model slices it covers.
_SEVERITY = {Decision.FLAGGED: 3, Decision.REVIEW: 2, Decision.NORMAL: 1, Decision.EMPTY: 0}


def input_slice_decisions(result: CaseResult, prepared: PreparedInput) -> list[str]:
    """One decision per axial slice of the input as acquired (a thick slice covers several
    model slices; it takes the worst of them)."""
    by_model_slice = {
        s.slice_index: d for s, d in zip(result.scores, result.decisions, strict=True)
    }
    covered = prepared.transform.model_slices_of_input_slices(prepared.input_mask)
    out = []
    for model_slices in covered:
        calls = [by_model_slice[k] for k in model_slices if k in by_model_slice]
        worst = max(calls, key=_SEVERITY.__getitem__, default=Decision.EMPTY)
        out.append(worst.value)
    return out


def with_front_end(result: CaseResult, prepared: PreparedInput) -> CaseResult:
    """result with the front end's record in extra, and sent to review (nothing cleared as
    normal) when the brain extraction was implausible."""
    if prepared.review_reason is not None:
        decisions = tuple(
            Decision.REVIEW if d == Decision.NORMAL else d for d in result.decisions
        )
        reasons = (prepared.review_reason, *result.case.reasons)
        case = CaseDecision(Decision.REVIEW, reasons, dict(result.case.counts))
        result = replace(result, decisions=decisions, case=case)
    summary = prepared.summary()
    if prepared.ran:
        summary["input_slice_decisions"] = input_slice_decisions(result, prepared)
    return replace(result, extra={**result.extra, "frontend": summary})
