"""Voxel->world matrices and reorientation to RAS+ canonical voxel order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nibabel import orientations

# ITK and DICOM describe the world in LPS (x to the left, y to the back); RAS flips both.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def lps_affine(
    origin: Sequence[float], spacing: Sequence[float], direction: Sequence[float]
) -> np.ndarray:
    """4x4 voxel->LPS matrix from ITK-style origin, spacing and row-major direction cosines."""
    dim = len(origin)
    cosines = np.asarray(direction, dtype=np.float64).reshape(dim, dim)[:3, :3]
    affine = np.eye(4)
    affine[:3, :3] = cosines @ np.diag(np.asarray(spacing, dtype=np.float64)[:3])
    affine[:3, 3] = np.asarray(origin, dtype=np.float64)[:3]
    return affine


def orientation_code(affine: np.ndarray) -> str:
    """Axis codes such as "LAS": the world direction each voxel axis points towards."""
    return "".join(orientations.aff2axcodes(affine))


def to_canonical(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip/permute axes so the data runs L->R, P->A, I->S; return (view, matching affine).

    The same transform as ``nibabel.as_closest_canonical``: oblique volumes go to the
    closest axis order, the affine keeps the exact (possibly oblique) geometry.
    """
    ornt = orientations.io_orientation(affine)
    if np.array_equal(ornt, [[0, 1], [1, 1], [2, 1]]):
        return data, affine
    reoriented = orientations.apply_orientation(data, ornt)
    return reoriented, affine @ orientations.inv_ornt_aff(ornt, data.shape)


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Distance in mm between neighbouring voxels along each data axis."""
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    return float(norms[0]), float(norms[1]), float(norms[2])
