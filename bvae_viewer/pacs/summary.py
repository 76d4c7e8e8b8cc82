"""The report's sentences, from a case result and the reviewer's record."""

from __future__ import annotations

from collections.abc import Mapping

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.pacs.results import ResultSummary
from bvae_viewer.review.store import DecisionRecord


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of slice indices: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def findings(result: CaseResult, region_ml: Mapping[int, float]) -> tuple[str, ...]:
    """One sentence per run of flagged slices, and one for the slices sent to review."""
    flagged = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
               if d == Decision.FLAGGED]
    review = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
              if d == Decision.REVIEW]
    peak = {s.slice_index: s.anomaly_score for s in result.scores}
    lines = []
    for first, last in _runs(flagged):
        top = max(range(first, last + 1), key=lambda k: peak[k])
        volume = sum(region_ml.get(k, 0.0) for k in range(first, last + 1))
        where = f"slice {first}" if first == last else f"slices {first}-{last}"
        lines.append(f"Flagged {where} (highest anomaly score {peak[top]:.3g} at slice {top}; "
                     f"flagged region {volume:.1f} mL).")
    if review:
        listed = ", ".join(str(k) for k in review[:20]) + ("..." if len(review) > 20 else "")
        lines.append(f"{len(review)} slice(s) sent to review: {listed}.")
    if not lines:
        lines.append("No slice flagged or sent to review.")
    return tuple(lines)


def reviewer_decision(record: DecisionRecord | None) -> str:
    if record is None:
        return "not reviewed"
    text = f"{record.decision.value} (by {record.reviewer or 'unnamed reviewer'}, {record.made_at})"
    return f"{text}: {record.note}" if record.note else text


def summarise(
    result: CaseResult,
    case_review: DecisionRecord | None,
    region_ml: Mapping[int, float],
    model_name: str,
    model_sha256: str,
) -> ResultSummary:
    return ResultSummary(
        case_decision=result.case.decision.value,
        reasons=tuple(result.case.reasons),
        findings=findings(result, region_ml),
        reviewer_decision=reviewer_decision(case_review),
        model_name=model_name,
        model_sha256=model_sha256,
    )
