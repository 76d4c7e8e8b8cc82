"""The input as acquired: its display stack, and the way to the model's stack and back."""

import numpy as np
import pytest

from bvae_viewer.analysis.acquired_view import acquired_view
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.data.preprocess import InPlaneGrid, to_display_stack

SHAPE = (40, 50, 12)  # an input with thick slices: 40 x 50 voxels of 1 mm, 12 slices of 5 mm
SPACING = (1.0, 1.0, 5.0)
SCALE = 250.0  # the raw intensity the model's stack shows as 1


def _geometry() -> SliceGeometry:
    """A model grid of 60 x 60 x 64 voxels at 1 mm, rotated 10 degrees about z against the
    input and shifted, seen by the model as 30 x 30 slices (2 voxels a pixel)."""
    angle = np.deg2rad(10.0)
    model_to_input = np.eye(4)
    model_to_input[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    model_to_input[2, 2] = 1.0 / 5.0  # 1 mm model slices, 5 mm input slices
    model_to_input[:3, 3] = (-5.0, 3.0, -1.0)
    affine = np.diag([*SPACING, 1.0])
    grid = InPlaneGrid(0.0, 2.0, 0.0, 2.0, (60, 60))
    return SliceGeometry(grid, np.arange(64), model_to_input, affine, SHAPE, 30)


def _input() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(10.0, 500.0, SHAPE).astype(np.float32)


def test_the_display_stack_is_the_inputs_own_slices_padded_to_square():
    data = _input()
    view = acquired_view(data, SPACING, _geometry(), SCALE)
    assert view.images.shape == (12, 50, 50) and view.slice_ratio == pytest.approx(5.0)
    shown = to_display_stack(data)  # (12, 50 rows, 40 cols): 5 columns of padding each side
    scaled = view.images[:, :, 5:45] * SCALE  # in the model stack's intensity units
    assert np.allclose(scaled, shown, rtol=1e-4)


def test_points_go_to_the_model_stack_and_back_and_agree_with_the_geometry():
    geometry = _geometry()
    view = acquired_view(_input(), SPACING, geometry, SCALE)
    rng = np.random.default_rng(1)
    for p, r, c in zip(rng.integers(0, 64, 20), rng.uniform(0, 29, 20), rng.uniform(0, 29, 20),
                       strict=True):
        stack_point = (float(p), float(r), float(c))
        there = view.acquired_point(stack_point)
        assert view.stack_point(there) == pytest.approx(stack_point, abs=1e-9)
        # The same input voxel as the geometry gives for the model's pixel.
        k, row, col = there
        voxel = np.array([col - 5.0, (50 - 1) - row, k])  # padding of 5 columns, 0 rows
        expected = geometry.pixel_input_voxel(int(p), np.array([r]), np.array([c]))[0]
        assert voxel == pytest.approx(expected, abs=1e-9)


def test_a_map_of_the_model_grid_is_sampled_where_the_geometry_says():
    geometry = _geometry()
    view = acquired_view(_input(), SPACING, geometry, SCALE)
    p, r, c = np.meshgrid(np.arange(64), np.arange(30), np.arange(30), indexing="ij")
    stack_map = (0.5 * p + 2.0 * r - 1.0 * c).astype(np.float32)  # linear: sampled exactly
    stack_map[40:] = np.nan  # slices not analysed yet
    points = np.array([[3.0, 20.0, 25.0], [6.0, 10.0, 30.0], [11.0, 25.0, 25.0]])
    values = view.sample(stack_map, points)
    for point, value in zip(points, values, strict=True):
        sp, sr, sc = view.stack_point(tuple(point))
        inside = 0 <= sr <= 29 and 0 <= sc <= 29 and 0 <= sp <= 39
        if inside:
            assert value == pytest.approx(0.5 * sp + 2.0 * sr - 1.0 * sc, abs=1e-3)
        else:
            assert np.isnan(value)
    assert np.isfinite(values).any()
