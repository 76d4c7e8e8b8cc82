from pathlib import Path

import numpy as np

from bvae_viewer.data.preprocess import (
    IMAGE_SIZE,
    preprocess_volume,
    resample_labels,
    slice_labels,
)
from bvae_viewer.io.volume import Volume, VolumeMetadata
from tests.volumes import brain_phantom


def _volume(data: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> Volume:
    affine = np.diag([*spacing, 1.0])
    return Volume(data.astype(np.float32), spacing, affine, VolumeMetadata("nifti"), Path("x"))


def test_output_shapes_range_and_empty_slices():
    image, _ = brain_phantom(shape=(64, 72, 40))
    stack = preprocess_volume(_volume(image))
    assert stack.images.shape == (40, IMAGE_SIZE, IMAGE_SIZE)
    assert stack.images.dtype == np.float32
    assert stack.images.min() >= 0.0 and stack.images.max() <= 1.0
    assert stack.brain_fraction[0] == 0 and not stack.has_brain[0]
    assert stack.has_brain[20]
    assert (stack.images[~stack.masks] == 0).all()


def test_normalisation_ignores_global_gain_and_a_hot_voxel():
    image, _ = brain_phantom()
    base = preprocess_volume(_volume(image)).images
    scaled = preprocess_volume(_volume(image * 7.5)).images
    hot = image.copy()
    hot[32, 36, 20] = 1e6
    with_hot = preprocess_volume(_volume(hot)).images
    np.testing.assert_allclose(scaled, base, atol=1e-5)
    # Only pixels near the hot voxel may change: the scale comes from a percentile, not the max.
    assert np.mean(np.abs(with_hot - base) > 1e-4) < 1e-4


def test_display_orientation_anterior_up_patient_left_left():
    data = np.zeros((40, 50, 10), dtype=np.float32)
    data[5:15, 5:45, :] = 100.0  # a wide block on the patient's left (low i)
    data[5:35, 40:45, :] = 300.0  # a bright bar at the anterior side (high j)
    stack = preprocess_volume(_volume(data))
    img = stack.images[5]
    rows, _ = np.nonzero(img > 0.5 * img.max())
    assert rows.mean() < IMAGE_SIZE / 2  # anterior -> top
    left_mass = img[:, : IMAGE_SIZE // 2].sum()
    assert left_mass > img[:, IMAGE_SIZE // 2 :].sum()  # patient left -> image left


def test_aspect_is_kept_for_anisotropic_voxels():
    shape, spacing = (80, 40, 12), (1.0, 2.0, 3.0)
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    grids = np.meshgrid(*axes, indexing="ij")
    disc = (grids[0] ** 2 + grids[1] ** 2) < 25.0**2
    stack = preprocess_volume(_volume(disc * 500.0, spacing))
    mask = stack.masks[6]
    rows, cols = np.nonzero(mask)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    # Without aspect correction one extent would be half the other; allow one 2 mm voxel.
    assert abs(height - width) <= 2 / stack.pixel_mm + 1
    # 50 mm across on a 80 mm field of view mapped to 128 pixels.
    assert abs(width - 50 / 80 * IMAGE_SIZE) <= 3
    assert stack.slice_mm == 3.0 and abs(stack.pixel_mm - 80 / IMAGE_SIZE) < 1e-6


def test_grid_maps_back_to_original_pixels():
    image, _ = brain_phantom(shape=(64, 72, 20))
    stack = preprocess_volume(_volume(image))
    g = stack.grid
    centre = (IMAGE_SIZE - 1) / 2
    assert abs(g.row0 + centre * g.step_row - (g.original_shape[0] - 1) / 2) < 1e-6
    assert abs(g.col0 + centre * g.step_col - (g.original_shape[1] - 1) / 2) < 1e-6


def test_labels_per_slice_and_on_grid():
    image, seg = brain_phantom(tumour=True)
    labels = slice_labels(seg)
    assert labels.shape == (seg.shape[2],)
    assert labels.any() and not labels.all()
    np.testing.assert_array_equal(labels, (seg > 0).any(axis=(0, 1)))
    stack = preprocess_volume(_volume(image))
    on_grid = resample_labels(seg, stack.grid)
    assert set(np.unique(on_grid)) <= {0, 1, 2, 4}
    assert (on_grid.reshape(len(on_grid), -1).max(axis=1) > 0)[labels].mean() > 0.8
