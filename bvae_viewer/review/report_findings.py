"""A report's findings: the flagged runs measured in mm, each with its key image.

Measured from the region maps of every flagged slice (RegionKeeper), not from the few slices
whose maps a report draws: a finding's extent spans all its slices.
"""

from __future__ import annotations

from collections.abc import Mapping

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding, find_findings, region_mask
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.review.report_data import KeyImage

DEFAULT_PIXEL_LEVEL = 20.0  # analysis.display's default A_pixel ceiling (uncalibrated model)


def pixel_level(map_levels: Mapping[str, tuple[float, float]]) -> float:
    """A_pixel above which a pixel belongs to a region: the model's calibrated display
    ceiling (as the SEG sent to a PACS uses)."""
    levels = map_levels.get("pixel_score")
    return float(levels[1]) if levels is not None else DEFAULT_PIXEL_LEVEL


def case_findings(
    stack: SliceStack,
    geometry: SliceGeometry,
    result: CaseResult,
    regions: Mapping[int, MapSet],
    level: float,
) -> tuple[tuple[Finding, ...], dict[int, KeyImage]]:
    """The case's findings, and each one's peak slice with its region on it (by number)."""
    flagged = [s.slice_index for s, d in zip(result.scores, result.decisions, strict=True)
               if d is Decision.FLAGGED]
    if not flagged:
        return (), {}
    scores = {s.slice_index: s.anomaly_score for s in result.scores}
    voxel_ml = stack.pixel_mm**2 * stack.slice_mm / 1000.0
    findings = find_findings(flagged, scores, regions, geometry, level, voxel_ml)
    images = {}
    for f in findings:
        maps = regions.get(f.peak_position)
        if maps is not None and 0 <= f.peak_position < len(stack):
            region = region_mask(maps, level)
            images[f.number] = KeyImage(f.peak_position, stack.images[f.peak_position], region)
    return tuple(findings), images
