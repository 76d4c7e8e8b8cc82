"""Preprocessing shared by training and inference: brain mask, normalisation, axial slices.

Display convention of every 2D array in the app: ``image[row, col]`` with row 0 at the
anterior edge and col 0 at the patient's left (neurological view); the radiological view is
a left-right flip done by the GUI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bvae_viewer.io.volume import Volume

IMAGE_SIZE = 128
# Normal brain tissue lands mostly below this after scaling; contrast enhancement, the
# brightest thing on T1ce, keeps room above it instead of being clipped.
REFERENCE_PERCENTILE = 95.0
REFERENCE_LEVEL = 0.75
# A slice is "empty" (no network run) below this fraction of brain pixels.
MIN_BRAIN_FRACTION = 0.01


@dataclass(frozen=True)
class InPlaneGrid:
    """How a 128x128 slice pixel maps back to the original axial slice.

    Original display-oriented slice (rows = anterior->posterior, cols = left->right):
    ``orig_row = row0 + row * step``, ``orig_col = col0 + col * step_col``.
    """

    row0: float
    step_row: float
    col0: float
    step_col: float
    original_shape: tuple[int, int]  # (rows, cols) of the display-oriented original slice


@dataclass(frozen=True)
class SliceStack:
    """A volume as model-ready axial slices (all of them, empty ones included)."""

    images: np.ndarray  # (N, S, S) float32 in [0, 1]
    masks: np.ndarray  # (N, S, S) bool brain mask
    slice_index: np.ndarray  # (N,) int, axial index k in the RAS volume
    brain_fraction: np.ndarray  # (N,) float32, brain pixels / all pixels
    grid: InPlaneGrid
    intensity_scale: float  # raw intensity that maps to 1.0
    pixel_mm: float = 1.875  # in-plane size of one grid pixel (240 mm / 128)
    slice_mm: float = 1.0  # distance between axial slices

    @property
    def brain_ml(self) -> float:
        """Brain (foreground) volume in millilitres."""
        return float(self.masks.sum()) * self.voxel_ml

    @property
    def voxel_ml(self) -> float:
        """Volume of one grid pixel on one slice, in millilitres."""
        return self.pixel_mm**2 * self.slice_mm / 1000.0

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def has_brain(self) -> np.ndarray:
        """Slices worth running the network on."""
        return self.brain_fraction >= MIN_BRAIN_FRACTION


def display_slice(data: np.ndarray, k: int) -> np.ndarray:
    """Axial slice k of a RAS array in display orientation (anterior up, patient left left)."""
    return np.rot90(data[:, :, k])


def brain_mask_3d(data: np.ndarray) -> np.ndarray:
    """Foreground of a skull-stripped volume: above a low threshold, holes filled, largest part."""
    positive = data[data > 0]
    if positive.size == 0:
        return np.zeros(data.shape, dtype=bool)
    threshold = 0.05 * float(np.percentile(positive, 99))
    mask = data > threshold
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
        mask = labels == (int(np.argmax(sizes)) + 1)
    # Fill per axial slice: cheap, and closes ventricles that touch no background in 2D.
    for k in range(mask.shape[2]):
        if mask[:, :, k].any():
            mask[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return mask


def intensity_scale(data: np.ndarray, mask: np.ndarray) -> float:
    """Raw intensity mapped to 1.0: a robust percentile of brain voxels, never the maximum."""
    brain = data[mask]
    if brain.size == 0:
        return 1.0
    ref = float(np.percentile(brain, REFERENCE_PERCENTILE))
    return ref / REFERENCE_LEVEL if ref > 0 else 1.0


def make_grid(shape_xy: tuple[int, int], spacing_xy: tuple[float, float], size: int) -> InPlaneGrid:
    """Square grid covering the slice's field of view in mm, aspect kept, centred."""
    nx, ny = shape_xy
    sx, sy = spacing_xy
    rows, cols = ny, nx  # display orientation swaps the axes
    height_mm, width_mm = rows * sy, cols * sx
    side_mm = max(height_mm, width_mm)
    pixel_mm = side_mm / size
    step_row, step_col = pixel_mm / sy, pixel_mm / sx
    # Pixel centres: the grid's centre sits on the slice's centre.
    row0 = (rows - 1) / 2 - (size - 1) / 2 * step_row
    col0 = (cols - 1) / 2 - (size - 1) / 2 * step_col
    return InPlaneGrid(row0, step_row, col0, step_col, (rows, cols))


def resample_to_grid(
    stack_display: np.ndarray, grid: InPlaneGrid, size: int, order: int
) -> np.ndarray:
    """Resample (N, rows, cols) display-oriented slices onto the size x size grid."""
    r = grid.row0 + np.arange(size) * grid.step_row
    c = grid.col0 + np.arange(size) * grid.step_col
    rr, cc = np.meshgrid(r, c, indexing="ij")
    out = np.empty((stack_display.shape[0], size, size), dtype=np.float32)
    for n in range(stack_display.shape[0]):
        out[n] = ndimage.map_coordinates(
            stack_display[n], [rr, cc], order=order, mode="constant", cval=0.0
        )
    return out


def to_display_stack(data: np.ndarray) -> np.ndarray:
    """All axial slices of a RAS array, display-oriented: (Z, Y, X)."""
    return np.ascontiguousarray(np.rot90(np.moveaxis(data, 2, 0), axes=(1, 2)))


def preprocess_volume(volume: Volume, size: int = IMAGE_SIZE) -> SliceStack:
    """Volume -> normalised, masked, resized axial slices (the model's input)."""
    data = np.asarray(volume.data, dtype=np.float32)
    mask3d = brain_mask_3d(data)
    scale = intensity_scale(data, mask3d)
    grid = make_grid(data.shape[:2], volume.spacing[:2], size)
    images = resample_to_grid(to_display_stack(data * mask3d) / scale, grid, size, order=1)
    masks = resample_to_grid(to_display_stack(mask3d.astype(np.float32)), grid, size, order=1)
    masks = masks > 0.5
    images = np.clip(images, 0.0, 1.0) * masks
    fraction = masks.reshape(len(masks), -1).mean(axis=1).astype(np.float32)
    return SliceStack(
        images=images.astype(np.float32),
        masks=masks,
        slice_index=np.arange(data.shape[2]),
        brain_fraction=fraction,
        grid=grid,
        intensity_scale=scale,
        pixel_mm=float(grid.step_row * volume.spacing[1]),
        slice_mm=float(volume.spacing[2]),
    )


def resample_labels(seg: np.ndarray, grid: InPlaneGrid, size: int = IMAGE_SIZE) -> np.ndarray:
    """A RAS label volume on the slice grid (nearest neighbour): (Z, size, size) int16."""
    labels = resample_to_grid(to_display_stack(seg.astype(np.float32)), grid, size, order=0)
    return labels.astype(np.int16)


def slice_labels(seg: np.ndarray) -> np.ndarray:
    """Per axial slice: True where the segmentation has any tumour voxel."""
    return np.asarray(seg > 0).reshape(-1, seg.shape[2]).any(axis=0)
