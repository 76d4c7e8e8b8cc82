"""A report's findings: the flagged runs measured in mm, each with its key image.

Measured from the region maps of every flagged slice (RegionKeeper), not from the few slices
whose maps a report draws: a finding's extent spans all its slices.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bvae_viewer.analysis.acquired_view import AcquiredView
from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.findings import Finding, region_mask, result_findings
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.data.frontend.space import apply
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.review.report_data import KeyImage


def case_findings(
    stack: SliceStack,
    geometry: SliceGeometry,
    result: CaseResult,
    regions: Mapping[int, MapSet],
    level: float,
    acquired: AcquiredView | None = None,
) -> tuple[tuple[Finding, ...], dict[int, KeyImage]]:
    """The case's findings, and each one's peak slice with its region on it (by number):
    the input's own slice as acquired when ``acquired`` is given (the front end ran)."""
    findings = result_findings(result, regions, geometry, level, stack.voxel_ml)
    images = {}
    for f in findings:
        maps = regions.get(f.peak_position)
        if maps is None or not 0 <= f.peak_position < len(stack):
            continue
        region = region_mask(maps, level)
        key = KeyImage(f.peak_position, stack.images[f.peak_position], region)
        if acquired is not None:
            key = _as_acquired(key, f, stack, geometry, regions, level, acquired)
        images[f.number] = key
    return tuple(findings), images


def _as_acquired(
    key: KeyImage,
    finding: Finding,
    stack: SliceStack,
    geometry: SliceGeometry,
    regions: Mapping[int, MapSet],
    level: float,
    acquired: AcquiredView,
) -> KeyImage:
    """The acquired axial slice through the peak's region, the region carried onto it."""
    rows, cols = np.nonzero(key.region)
    size = stack.images.shape[-1]
    r, c = (rows.mean(), cols.mean()) if rows.size else ((size - 1) / 2, (size - 1) / 2)
    k, _, _ = acquired.acquired_point((float(key.position), float(r), float(c)))
    k = max(0, min(acquired.n - 1, round(k)))
    volume = np.zeros(stack.images.shape, dtype=np.float32)
    for p in finding.flagged:
        if (maps := regions.get(p)) is not None:
            volume[p] = region_mask(maps, level)
    region = np.nan_to_num(acquired.sample(volume, acquired.axial_points(k))) >= 0.5
    x, y = (geometry.input_shape[0] - 1) / 2, (geometry.input_shape[1] - 1) / 2
    z = float(apply(geometry.input_affine, np.array([x, y, k]))[2])
    return KeyImage(key.position, np.clip(acquired.images[k], 0.0, 1.0), region, k, z)
