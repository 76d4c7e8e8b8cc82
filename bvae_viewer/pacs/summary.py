"""The report's sentences, from a case result and the reviewer's record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding
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


def findings(
    result: CaseResult, region_ml: Mapping[int, float], measured: Sequence[Finding] = ()
) -> tuple[str, ...]:
    """One sentence per finding (as the window and the report word it) or, for a case
    measured without them, per run of flagged slices; one for the slices sent to review."""
    flagged = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
               if d == Decision.FLAGGED]
    review = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
              if d == Decision.REVIEW]
    peak = {s.slice_index: s.anomaly_score for s in result.scores}
    lines = [f"{f.describe()}; flagged region {f.region_ml:.1f} mL." for f in measured]
    for first, last in [] if measured else _runs(flagged):
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
    measured: Sequence[Finding] = (),
) -> ResultSummary:
    return ResultSummary(
        case_decision=result.case.decision.value,
        reasons=tuple(result.case.reasons),
        findings=findings(result, region_ml, measured),
        reviewer_decision=reviewer_decision(case_review),
        model_name=model_name,
        model_sha256=model_sha256,
    )
