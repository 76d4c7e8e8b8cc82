"""The three orthogonal planes of a slice stack, in the views' coordinates, and in mm.

A grid point is (position, row, col) of the model's stack (N, S, S): position runs inferior
to superior, row anterior to posterior, col from the patient's left to right; whole numbers
are pixel centres (as analysis.geometry counts them). A view's coordinates are grid pixels
across and, down the screen, slices scaled by slice_mm / pixel_mm, so one view unit is one
pixel_mm in every direction and a locked aspect is the true one:

- axial (position fixed): x = col, y = row (anterior up);
- coronal (row fixed): x = col, y = position, superior up;
- sagittal (col fixed): x = row (anterior on the left, as ITK-SNAP and FSLeyes show it),
  y = position, superior up.

Plain numpy: the views (gui.ortho_views), the ruler and the readout share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bvae_viewer.analysis.geometry import SliceGeometry

PLANES = ("axial", "coronal", "sagittal")
# Which grid coordinate each plane holds fixed: 0 position, 1 row, 2 col.
FIXED_AXIS = {"axial": 0, "coronal": 1, "sagittal": 2}

Point = tuple[float, float, float]  # (position, row, col)


@dataclass(frozen=True)
class Plane:
    """One of the three planes of a stack of n slices of size x size pixels."""

    name: str
    n: int
    size: int
    slice_ratio: float = 1.0  # slice_mm / pixel_mm: view units per slice

    @property
    def fixed_axis(self) -> int:
        return FIXED_AXIS[self.name]

    def extent(self) -> tuple[float, float]:
        """(width, height) of the plane's image in view units."""
        if self.name == "axial":
            return float(self.size), float(self.size)
        return float(self.size), self.n * self.slice_ratio

    def image(self, volume: np.ndarray, point: Point) -> np.ndarray:
        """The 2D section through point, row-major as shown (superior up)."""
        p, r, c = (self._index(v, axis) for axis, v in enumerate(point))
        if self.name == "axial":
            return volume[p]
        section = volume[:, r, :] if self.name == "coronal" else volume[:, :, c]
        return np.ascontiguousarray(section[::-1])

    def to_view(self, point: Point) -> tuple[float, float]:
        p, r, c = point
        y = (self.n - 1 - p + 0.5) * self.slice_ratio
        if self.name == "axial":
            return c + 0.5, r + 0.5
        return (c + 0.5, y) if self.name == "coronal" else (r + 0.5, y)

    def from_view(self, x: float, y: float, through: Point) -> Point:
        """The grid point under view point (x, y); the fixed coordinate is through's."""
        p0, r0, c0 = through
        if self.name == "axial":
            return p0, y - 0.5, x - 0.5
        p = self.n - 1 - (y / self.slice_ratio - 0.5)
        return (p, r0, x - 0.5) if self.name == "coronal" else (p, x - 0.5, c0)

    def section(self, point: Point) -> int:
        """Index of the section through point (what a view redraws on)."""
        return self.clamp(point)[self.fixed_axis]

    def holds(self, point: Point, through: Point) -> bool:
        """Point lies on the section shown through ``through``."""
        return self.section(point) == self.section(through)

    def clamp(self, point: Point) -> tuple[int, int, int]:
        """The whole grid pixel nearest to point, inside the stack."""
        return tuple(self._index(v, axis) for axis, v in enumerate(point))  # type: ignore

    def _index(self, value: float, axis: int) -> int:
        top = (self.n if axis == 0 else self.size) - 1
        return max(0, min(top, math.floor(value + 0.5)))


def point_mm(geometry: SliceGeometry, point: Point) -> np.ndarray:
    """Scanner RAS mm of a grid point; between two slices, on the line joining them."""
    p, r, c = point
    last = len(geometry.slice_index) - 1
    p = min(max(p, 0.0), float(last))
    below = math.floor(p)
    above = min(below + 1, last)
    rows, cols = np.array([r]), np.array([c])
    low = geometry.pixel_mm(below, rows, cols)[0]
    if above == below:
        return low
    high = geometry.pixel_mm(above, rows, cols)[0]
    return low + (p - below) * (high - low)


def distance_mm(geometry: SliceGeometry, a: Point, b: Point) -> float:
    """Distance in mm between two grid points (SliceGeometry.distance_mm for whole slices)."""
    if float(a[0]).is_integer() and float(b[0]).is_integer():
        return geometry.distance_mm((int(a[0]), a[1], a[2]), (int(b[0]), b[1], b[2]))
    return float(np.linalg.norm(point_mm(geometry, a) - point_mm(geometry, b)))


def ras_text(mm: np.ndarray) -> tuple[str, str, str]:
    """Scanner RAS mm as a radiologist reads it: R/L, A/P, S/I with a positive number."""
    letters = (("R", "L"), ("A", "P"), ("S", "I"))
    return tuple(  # type: ignore[return-value]
        f"{pos if v >= 0 else neg} {abs(v):.1f}"
        for v, (pos, neg) in zip(mm, letters, strict=True)
    )
