"""The input as acquired: its own axial slices, and the way between them and the model's stack.

When the clinical front end ran, the model analysed a resampled, skull-stripped volume in its
own space; a reviewer checks anatomy on the scan as it was acquired (skull, thick slices,
scanner orientation). AcquiredView lays the input's voxels out as a display stack like the
model's (position = the input's axial slice, rows anterior to posterior, columns the
patient's left to right, padded to a square) and holds the affine from that stack to the
model's stack through the case's SliceGeometry, so a map of the model's grid is sampled onto
any acquired section and the one 3D cursor moves between the two. Plain numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage

from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.data.frontend.space import apply
from bvae_viewer.data.preprocess import InPlaneGrid, to_display_stack

Point = tuple[float, float, float]  # (position, row, col) of a display stack


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class AcquiredView:
    """The input's display stack and the affine to the model's stack.

    ``images``: (K, S, S) float32, the input's axial slices display-oriented, padded to
    square, in the model stack's intensity units (the views share one window/level);
    ``to_stack``: 4x4, acquired (position, row, col) -> the model stack's (position, row,
    col); ``slice_ratio``: the input's slice spacing over its pixel spacing (view units per
    slice, the true aspect).
    """

    images: np.ndarray
    to_stack: np.ndarray
    slice_ratio: float

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    def stack_point(self, point: Point) -> Point:
        """The model stack's point at an acquired point (fractional)."""
        return tuple(float(v) for v in apply(self.to_stack, np.asarray(point, float)))  # type: ignore

    @cached_property
    def from_stack(self) -> np.ndarray:
        """4x4: the model stack's point -> acquired point (every crosshair redraw needs it)."""
        return np.linalg.inv(self.to_stack)

    def acquired_point(self, point: Point) -> Point:
        """The acquired point at a model stack point (fractional)."""
        return tuple(float(v) for v in apply(self.from_stack, np.asarray(point, float)))  # type: ignore

    def axial_points(self, k: int) -> np.ndarray:
        """(S, S, 3) acquired points of every pixel of axial slice k."""
        across = np.arange(self.size, dtype=np.float64)
        rows, cols = np.meshgrid(across, across, indexing="ij")
        return np.stack([np.full(rows.shape, float(k)), rows, cols], axis=-1)

    def sample(self, stack_volume: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Values of a model-stack volume (N, s, s) at acquired points (..., 3), linear;
        NaN outside the stack and next to slices not analysed yet (left blank)."""
        pts = np.asarray(points, dtype=np.float64)
        where = apply(self.to_stack, pts.reshape(-1, 3)).T
        values = ndimage.map_coordinates(
            np.asarray(stack_volume, dtype=np.float32), where, order=1, mode="constant",
            cval=np.nan,
        )  # fmt: skip
        return values.reshape(pts.shape[:-1])


def acquired_view(
    input_data: np.ndarray,
    spacing: tuple[float, float, float],
    geometry: SliceGeometry,
    intensity_scale: float,
) -> AcquiredView:
    """The input volume (RAS voxel order, as the loader gives it) as a display stack.

    ``intensity_scale``: the raw intensity the model's stack shows as 1 (SliceStack's), so
    both grids share one window/level.
    """
    stack = to_display_stack(np.asarray(input_data, dtype=np.float32))  # (Z, Y, X)
    z, rows, cols = stack.shape
    size = max(rows, cols)
    pad_r, pad_c = (size - rows) // 2, (size - cols) // 2
    low = float(np.min(stack)) if stack.size else 0.0
    square = np.full((z, size, size), low, dtype=np.float32)
    square[:, pad_r : pad_r + rows, pad_c : pad_c + cols] = stack
    square = np.maximum(square, 0.0) / float(intensity_scale)
    own = InPlaneGrid(-float(pad_r), 1.0, -float(pad_c), 1.0, (rows, cols))
    input_to_model = np.linalg.inv(geometry.model_to_input)
    to_stack = _stack_of_model_voxel(geometry) @ input_to_model @ _voxel_of(own)
    ratio = float(spacing[2]) / float(spacing[0]) if spacing[0] > 0 else 1.0
    return AcquiredView(square, to_stack, ratio)


def _voxel_of(grid: InPlaneGrid) -> np.ndarray:
    """4x4: display stack (position, row, col) -> RAS voxel (i, j, k) of its volume."""
    rows = grid.original_shape[0]
    m = np.zeros((4, 4))
    m[0, 2], m[0, 3] = grid.step_col, grid.col0
    m[1, 1], m[1, 3] = -grid.step_row, (rows - 1) - grid.row0
    m[2, 0] = 1.0
    m[3, 3] = 1.0
    return m


def _stack_of_model_voxel(geometry: SliceGeometry) -> np.ndarray:
    """4x4: model voxel (i, j, k) -> the model stack's (position, row, col): the inverse of
    SliceGeometry.model_voxels, with evenly spaced slices (preprocessing keeps them all)."""
    index = np.asarray(geometry.slice_index, dtype=np.float64)
    first = float(index[0]) if index.size else 0.0
    step = float(index[1] - index[0]) if index.size > 1 else 1.0
    m = np.zeros((4, 4))
    m[0, 2], m[0, 3] = 1.0 / step, -first / step
    own = _voxel_of(geometry.grid)
    m[1:3, :] = np.linalg.inv(own)[1:3, :]  # row and col from (i, j); k is the position's
    m[3, 3] = 1.0
    return m
