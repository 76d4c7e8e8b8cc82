"""Sanity checks shared by every reader: dimensions (before allocating), geometry, values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bvae_viewer.io import messages
from bvae_viewer.io.errors import (
    GeometryError,
    NonFiniteVoxelsError,
    NotThreeDimensionalError,
    VolumeSizeError,
)

# A brain MRI is a few hundred voxels a side; these limits refuse nonsense headers
# (and multi-GB allocations) long before they reach memory.
MIN_AXIS = 8  # voxels along every direction
MAX_AXIS = 2048  # voxels along any direction
MAX_VOXELS = 2**28  # 1 GiB as float32


def check_shape(path: Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Return the 3D shape of a header's dimensions, or raise; trailing unit axes are dropped."""
    dims = [int(d) for d in shape]
    while len(dims) > 3 and dims[-1] == 1:
        dims.pop()
    if len(dims) > 3:
        raise NotThreeDimensionalError(messages.several_volumes(path, math.prod(dims[3:])), path)
    if len(dims) < 3 or 1 in dims:
        raise NotThreeDimensionalError(messages.two_dimensional(path), path)
    if min(dims) < MIN_AXIS:
        raise VolumeSizeError(messages.too_small(path, tuple(dims), MIN_AXIS), path)
    if max(dims) > MAX_AXIS or math.prod(dims) > MAX_VOXELS:
        raise VolumeSizeError(messages.too_large(path, tuple(dims), MAX_AXIS, MAX_VOXELS), path)
    return dims[0], dims[1], dims[2]


def check_voxel_sizes(path: Path, sizes: tuple[float, ...]) -> None:
    """Refuse voxel sizes that are zero, negative or not finite."""
    values = np.asarray(sizes, dtype=np.float64)
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise GeometryError(messages.bad_voxel_size(path, tuple(float(v) for v in values)), path)


def check_affine(path: Path, affine: np.ndarray) -> None:
    """Refuse a voxel->world matrix that is non-finite or (nearly) singular."""
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        problem = "it contains missing or infinite numbers"
        raise GeometryError(messages.bad_affine(path, problem), path)
    linear = affine[:3, :3]
    norms = np.linalg.norm(linear, axis=0)
    if np.any(norms <= 0):
        raise GeometryError(messages.bad_affine(path, "a voxel axis has zero length"), path)
    # Relative to the voxel volume, so that tiny but valid voxels are not refused.
    if abs(np.linalg.det(linear)) < 1e-6 * float(np.prod(norms)):
        raise GeometryError(messages.bad_affine(path, "two voxel axes point the same way"), path)


def check_finite(path: Path, data: np.ndarray) -> None:
    """Refuse NaN or infinite voxels (integer data is always finite)."""
    if not np.issubdtype(data.dtype, np.floating):
        return
    finite = np.isfinite(data)
    if not finite.all():
        raise NonFiniteVoxelsError(messages.non_finite(path, int(finite.size - finite.sum())), path)
