"""The open case's findings, for the queue and the opening slice (plain Python, no Qt).

A finding is a run of flagged slices (analysis.findings: the same runs the report and the
PACS SR name). Measuring one median-filters A_pixel on each of its slices, so the findings
are measured again only when the flagged slices (or the case, or the model) change, not on
every refresh of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bvae_viewer.analysis.findings import Finding, find_findings, pixel_level
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.pipeline.case import LoadedCase


class CaseFindings:
    """The findings of the case on screen, measured once per set of flagged slices."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._findings: list[Finding] = []

    def of(
        self,
        case: LoadedCase | None,
        results: Sequence[Any],
        decisions: Sequence[Decision | None],
        calibration: Calibration | None,
    ) -> list[Finding]:
        """Findings, highest peak first ([] without a case, a model or flagged slices)."""
        if case is None or calibration is None:
            return []
        flagged = tuple(
            p
            for p, (r, d) in enumerate(zip(results, decisions, strict=True))
            if r is not None and d == Decision.FLAGGED
        )
        level = pixel_level(calibration.map_levels)
        key = (id(case), case.fingerprint, flagged, level)
        if key != self._key:
            self._findings = self._measure(case, results, flagged, level) if flagged else []
            self._key = key
        return self._findings

    def _measure(
        self, case: LoadedCase, results: Sequence[Any], flagged: tuple[int, ...], level: float
    ) -> list[Finding]:
        scores = {p: results[p].scores.anomaly_score for p in flagged}
        maps = {p: results[p].maps for p in flagged}
        return find_findings(flagged, scores, maps, case.geometry, level, case.stack.voxel_ml)


def opening_slice(findings: Sequence[Finding]) -> int | None:
    """Where a case opens once its findings are known: the peak of its highest run."""
    return findings[0].peak_position if findings else None
