"""The report's sentences, from a case result and the reviewer's record."""

from __future__ import annotations

from collections.abc import Sequence

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.pacs.results import ResultSummary
from bvae_viewer.review.store import DecisionRecord


def findings(
    result: CaseResult, measured: Sequence[Finding], numbering: SliceNumbering
) -> tuple[str, ...]:
    """One sentence per finding (as the window and the report word it), one for the slices
    sent to review, numbered as the findings are: the input's own slices, from 1."""
    review = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
              if d == Decision.REVIEW]
    lines = [f"{f.describe()}; flagged region {f.region_ml:.1f} mL." for f in measured]
    if review:
        lines.append(f"{len(review)} slice(s) sent to review: input slices "
                     f"{numbering.spans(review)}.")
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
    measured: Sequence[Finding],
    numbering: SliceNumbering,
    model_name: str,
    model_sha256: str,
) -> ResultSummary:
    return ResultSummary(
        case_decision=result.case.decision.value,
        reasons=tuple(result.case.reasons),
        findings=findings(result, measured, numbering),
        reviewer_decision=reviewer_decision(case_review),
        model_name=model_name,
        model_sha256=model_sha256,
    )
