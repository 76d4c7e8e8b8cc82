"""The flagged region: model-grid pixels above the pixel-score threshold, carried back onto
the source images' own pixels (the grid and frame of reference a Segmentation must use)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydicom.dataset import Dataset

from bvae_viewer.analysis.findings import region_mask
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.data.preprocess import InPlaneGrid
from bvae_viewer.io.orientation import LPS_TO_RAS


def flagged_region(
    maps: Mapping[int, MapSet], flagged: Sequence[int], pixel_threshold: float
) -> dict[int, np.ndarray]:
    """Per flagged slice (axial index): brain pixels whose A_pixel exceeds the threshold.

    The map is median-filtered first, as the peak score is: a lone noisy pixel is not a
    region, a lesion of a few pixels survives.
    """
    return {k: region_mask(maps[k], pixel_threshold) for k in flagged}


def _pixel_world_lps(ds: Dataset) -> np.ndarray:
    """(rows, columns, 3) LPS mm of every pixel centre of a single-frame image."""
    position = np.asarray(ds.ImagePositionPatient, dtype=np.float64)
    cosines = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
    along_row, along_column = cosines[:3], cosines[3:]  # column index, row index directions
    between_rows, between_columns = (float(v) for v in ds.PixelSpacing)
    r = np.arange(int(ds.Rows), dtype=np.float64)[:, None, None]
    c = np.arange(int(ds.Columns), dtype=np.float64)[None, :, None]
    return position + c * between_columns * along_row + r * between_rows * along_column


def region_on_source(
    datasets: Sequence[Dataset],
    region: Mapping[int, np.ndarray],
    volume_affine: np.ndarray,
    grid: InPlaneGrid,
) -> np.ndarray:
    """(instances, rows, columns) bool: the region sampled at each source pixel (nearest).

    Source pixel -> LPS -> RAS -> voxel (i, j, k) of the loaded RAS volume -> display pixel
    (row = Y-1-j, col = i, see data.preprocess.display_slice) -> model-grid pixel.
    """
    to_voxel = np.linalg.inv(volume_affine) @ LPS_TO_RAS
    n_rows_display = grid.original_shape[0]
    out = []
    for ds in datasets:
        world = _pixel_world_lps(ds)
        homogeneous = np.concatenate([world, np.ones((*world.shape[:2], 1))], axis=2)
        ijk = homogeneous @ to_voxel.T
        i, j, k = (np.rint(ijk[..., n]).astype(int) for n in range(3))
        mask = np.zeros(world.shape[:2], dtype=bool)
        for axial in np.unique(k):
            if int(axial) not in region:
                continue
            here = k == axial
            grid_mask = region[int(axial)]
            size = grid_mask.shape[0]
            row = np.rint((n_rows_display - 1 - j[here] - grid.row0) / grid.step_row).astype(int)
            col = np.rint((i[here] - grid.col0) / grid.step_col).astype(int)
            inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
            values = np.zeros(row.shape, dtype=bool)
            values[inside] = grid_mask[row[inside], col[inside]]
            mask[here] = values
        out.append(mask)
    return np.stack(out)
