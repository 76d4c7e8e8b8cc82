"""Where a model-grid pixel lies: in the model's volume, in the input's own voxels, in mm.

The model sees 128x128 axial slices of a volume on its own grid (the input itself when the
clinical front end was skipped, else the input registered to the template). Positions and
distances a reviewer reads must be the scanner's (millimetres, RAS) and slice numbers the
input's own, whatever grid the model used: everything on screen and in reports that names a
place goes through SliceGeometry. Plain numpy: the window, reports and PACS share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvae_viewer.data.frontend.space import apply
from bvae_viewer.data.preprocess import InPlaneGrid


@dataclass(frozen=True)
class SliceGeometry:
    """Model-grid pixel (position, row, col) <-> model voxel <-> input voxel <-> scanner mm.

    ``model_to_input``: model voxel -> input voxel (the input's canonical RAS voxel order);
    ``input_affine``: input voxel -> scanner RAS mm. ``display_rows``: rows of the display
    slice (np.rot90 of an axial RAS slice: row = Y-1-j, col = i, see display_slice).
    """

    grid: InPlaneGrid
    slice_index: np.ndarray  # stack position -> axial index k of the model's volume
    model_to_input: np.ndarray
    input_affine: np.ndarray
    input_shape: tuple[int, int, int]
    size: int = 128  # grid pixels per side

    @property
    def model_to_mm(self) -> np.ndarray:
        return self.input_affine @ self.model_to_input

    def model_voxels(self, position: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 3) model voxel coordinates (i, j, k) of grid pixels of one slice."""
        g = self.grid
        rows = np.asarray(rows, dtype=np.float64).ravel()
        cols = np.asarray(cols, dtype=np.float64).ravel()
        i = g.col0 + cols * g.step_col
        j = (g.original_shape[0] - 1) - (g.row0 + rows * g.step_row)
        k = np.full(i.shape, float(self.slice_index[position]))
        return np.stack([i, j, k], axis=1)

    def pixel_mm(self, position: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 3) scanner RAS mm of grid pixels of one slice."""
        return apply(self.model_to_mm, self.model_voxels(position, rows, cols))

    def pixel_input_voxel(self, position: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 3) input voxel coordinates (fractional) of grid pixels of one slice."""
        return apply(self.model_to_input, self.model_voxels(position, rows, cols))

    def input_slice(self, position: int) -> int:
        """The input's own axial slice number (0-based) through the centre of this slice:
        with thick input slices several model slices share one."""
        middle = np.array([(self.size - 1) / 2])
        centre = self.pixel_input_voxel(position, middle, middle)
        k = int(np.rint(centre[0, 2]))
        return max(0, min(self.input_shape[2] - 1, k))

    def distance_mm(self, a: tuple[int, float, float], b: tuple[int, float, float]) -> float:
        """Distance in mm between two grid points (position, row, col)."""
        pa = self.pixel_mm(a[0], np.array([a[1]]), np.array([a[2]]))[0]
        pb = self.pixel_mm(b[0], np.array([b[1]]), np.array([b[2]]))[0]
        return float(np.linalg.norm(pa - pb))


def identity_geometry(
    grid: InPlaneGrid,
    slice_index: np.ndarray,
    affine: np.ndarray,
    shape: tuple[int, int, int],
    size: int = 128,
) -> SliceGeometry:
    """The model's volume is the input (front end skipped): one affine does it all."""
    return SliceGeometry(grid, np.asarray(slice_index), np.eye(4), np.asarray(affine), shape, size)
