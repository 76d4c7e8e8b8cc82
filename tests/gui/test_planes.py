"""The three planes' view coordinates and mm (gui.planes): plain numpy, no display."""

from __future__ import annotations

import numpy as np
import pytest

from bvae_viewer.analysis.geometry import identity_geometry
from bvae_viewer.data.preprocess import InPlaneGrid
from bvae_viewer.gui.planes import PLANES, Plane, distance_mm, point_mm, ras_text

N, SIZE = 20, 16


def _geometry():
    grid = InPlaneGrid(0.0, 1.0, 0.0, 1.0, (SIZE, SIZE))
    affine = np.array([[0.9, 0, 0, -7.0], [0, 0.9, 0, 3.0], [0, 0, 3.0, -30.0], [0, 0, 0, 1]])
    return identity_geometry(grid, np.arange(N), affine, (SIZE, SIZE, N), SIZE)


@pytest.mark.parametrize("name", PLANES)
def test_view_coordinates_go_there_and_back(name):
    plane = Plane(name, N, SIZE, slice_ratio=3.0 / 0.9)
    point = (7.0, 4.0, 11.0)
    x, y = plane.to_view(point)
    assert plane.from_view(x, y, point) == pytest.approx(point)
    width, height = plane.extent()
    assert 0 < x < width and 0 < y < height
    assert plane.holds(point, point) and plane.clamp((7.4, 3.6, 10.6)) == (7, 4, 11)


def test_sections_are_shown_superior_up():
    volume = np.arange(N * SIZE * SIZE, dtype=np.float32).reshape(N, SIZE, SIZE)
    through = (7.0, 4.0, 11.0)
    np.testing.assert_array_equal(Plane("axial", N, SIZE).image(volume, through), volume[7])
    coronal = Plane("coronal", N, SIZE).image(volume, through)
    np.testing.assert_array_equal(coronal[0], volume[N - 1, 4, :])  # top row: superior
    sagittal = Plane("sagittal", N, SIZE).image(volume, through)
    np.testing.assert_array_equal(sagittal[-1], volume[0, :, 11])


def test_mm_between_slices_and_the_reading():
    geometry = _geometry()
    np.testing.assert_allclose(point_mm(geometry, (5.0, 2.0, 3.0)),
                               geometry.pixel_mm(5, np.array([2.0]), np.array([3.0]))[0])
    halfway = point_mm(geometry, (5.5, 2.0, 3.0))
    assert halfway[2] == pytest.approx(point_mm(geometry, (5.0, 2.0, 3.0))[2] + 1.5)
    assert distance_mm(geometry, (2.0, 1.0, 1.0), (6.0, 1.0, 4.0)) == pytest.approx(
        np.hypot(4 * 3.0, 3 * 0.9)
    )
    assert ras_text(np.array([-12.04, 3.0, -0.5])) == ("L 12.0", "A 3.0", "I 0.5")
