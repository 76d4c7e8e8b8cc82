"""A case in the words a report hands on: the conclusion, why slices wait for review, and
slice numbers as the reader's viewer counts them.

A radiologist who receives the report reads "Flagged: 2 findings; 23 of 146 brain slices
above the line" and "slices 61-78", numbered as on their own workstation (the input's own
axial slices, counted from 1), not positions on the model's grid. The PDF's first page, the
HTML report and the PACS SR say it in these same words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.review_reasons import slice_review_reason, slice_review_reasons
from bvae_viewer.analysis.triage import Decision, TriagePolicy

NUMBERING_NOTE = (
    "Slice numbers are the input's own axial slices counted from 1, as a viewer's slice "
    "counter shows them; z is the slice's height in scanner millimetres (superior positive)."
)


@dataclass(frozen=True)
class SliceNumbering:
    """Per model slice (stack position): the input's axial slice (0-based) and the scanner
    z (superior) of the slice's centre in mm."""

    input_slice: tuple[int, ...]
    z_mm: tuple[float, ...]

    @classmethod
    def from_geometry(cls, geometry: SliceGeometry, n: int) -> SliceNumbering:
        centre = (geometry.size - 1) / 2
        z = [float(geometry.pixel_mm(p, [centre], [centre])[0, 2]) for p in range(n)]
        return cls(tuple(geometry.input_slice(p) for p in range(n)), tuple(z))

    @classmethod
    def identity(cls, n: int) -> SliceNumbering:
        """The model's slices are the input's, 1 mm apart (no geometry known)."""
        return cls(tuple(range(n)), tuple(float(p) for p in range(n)))

    def number(self, position: int) -> int:
        """The slice number a reader looks for (1-based, the input's numbering)."""
        if 0 <= position < len(self.input_slice):
            return self.input_slice[position] + 1
        return position + 1

    def mm(self, position: int) -> float:
        return self.z_mm[position] if 0 <= position < len(self.z_mm) else math.nan

    def spans(self, positions: Iterable[int]) -> str:
        """Input slice numbers as runs: '12-18, 22, 30-31'."""
        return number_runs(self.number(p) for p in positions)


def number_runs(numbers: Iterable[int]) -> str:
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def brain_slices_above_line(result: CaseResult) -> tuple[int, int]:
    """(slices whose anomaly score is above the threshold, slices with brain)."""
    brain = [s for s in result.scores if not s.empty]
    line = result.policy.score_threshold
    return sum(1 for s in brain if s.anomaly_score > line), len(brain)


def conclusion(result: CaseResult, findings: Sequence[Finding]) -> tuple[str, str]:
    """The case call in plain words and why: (headline, reason)."""
    above, brain = brain_slices_above_line(result)
    count = f"{above} of {brain} brain slices above the line"
    reasons = "; ".join(result.case.reasons)
    decision = result.case.decision
    if decision is Decision.FLAGGED:
        headline = f"Flagged: {_plural(len(findings), 'finding')}; {count}"
        why = (f"The model flags a case from {result.policy.min_flagged_run} consecutive "
               f"slices above the line; here: {reasons}.")
    elif decision is Decision.REVIEW:
        headline = f"Needs review: the model does not decide this case; {count}"
        why = f"Sent to review because {reasons}." if reasons else "Sent to review."
    else:
        headline = f"Not flagged: no finding; {count}"
        why = (f"No run of {result.policy.min_flagged_run} consecutive slices above the line"
               + _review_run_words(result.policy) + ", and few uncertain slices.")
    return headline, why[:1].upper() + why[1:]


def _review_run_words(policy: TriagePolicy) -> str:
    """The review rule's part of why a case was called normal ("" without that rule)."""
    if not policy.review_run:
        return ""
    return (f" nor of {policy.review_run} above {policy.review_score_factor:.2g} times it "
            "(which would send the case to review)")


# What the review sentence's reasons are about, by the words they begin with.
_REASON_KINDS = (
    ("score ", "Score close to the line"),
    ("uncertainty ", "Uncertainty above its threshold"),
    ("the models disagree", "The models disagree"),
    ("the model could not score", "Could not be scored"),
)


@dataclass(frozen=True)
class ReviewGroup:
    """Slices in review for one kind of reason, and the sentence of the first of them."""

    kind: str
    positions: tuple[int, ...]
    example_position: int
    example: str  # slice_review_reason of example_position: THE sentence


def review_summary(result: CaseResult) -> list[ReviewGroup]:
    """The slices the policy sends to review, grouped by why (a slice with two reasons is in
    both groups), largest group first."""
    groups: dict[str, list[int]] = {}
    for s in result.scores:
        for reason in slice_review_reasons(s, result.policy):
            kind = next((k for start, k in _REASON_KINDS if reason.startswith(start)), reason)
            groups.setdefault(kind, []).append(s.slice_index)
    by_index = {s.slice_index: s for s in result.scores}
    out = [
        ReviewGroup(kind, tuple(ps), ps[0], slice_review_reason(by_index[ps[0]], result.policy))
        for kind, ps in groups.items()
    ]
    return sorted(out, key=lambda g: -len(g.positions))
