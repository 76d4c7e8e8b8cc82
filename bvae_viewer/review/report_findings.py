"""A report's findings: the flagged runs measured in mm, each with its key image.

Measured from the region maps of every flagged slice (RegionKeeper), not from the few slices
whose maps a report draws: a finding's extent spans all its slices.
"""

from __future__ import annotations

from collections.abc import Mapping

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding, region_mask, result_findings
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.review.report_data import KeyImage


def case_findings(
    stack: SliceStack,
    geometry: SliceGeometry,
    result: CaseResult,
    regions: Mapping[int, MapSet],
    level: float,
) -> tuple[tuple[Finding, ...], dict[int, KeyImage]]:
    """The case's findings, and each one's peak slice with its region on it (by number)."""
    findings = result_findings(result, regions, geometry, level, stack.voxel_ml)
    images = {}
    for f in findings:
        maps = regions.get(f.peak_position)
        if maps is not None and 0 <= f.peak_position < len(stack):
            region = region_mask(maps, level)
            images[f.number] = KeyImage(f.peak_position, stack.images[f.peak_position], region)
    return tuple(findings), images
