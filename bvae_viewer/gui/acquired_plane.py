"""A plane of the input as acquired that speaks the model stack's points (gui.planes).

The three views keep one 3D cursor, the ruler's ends and every click in the model stack's
(position, row, col), as the six panels do; an AcquiredPlane turns them into the acquired
section on screen and back (analysis.acquired_view), so the views, the ruler and the
readout need not know which grid they draw. Its image is either the acquired volume's own
section, or (``samples_stack``) a map of the model's stack sampled along that section.
Plain numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bvae_viewer.analysis.acquired_view import AcquiredView
from bvae_viewer.gui.planes import Plane, Point


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class AcquiredPlane:
    """``n``/``size``: the model stack's (points are clamped to it); ``shown``: the acquired
    stack's own plane (extent, sections, view units)."""

    shown: Plane
    view: AcquiredView
    n: int
    size: int
    samples_stack: bool = False

    @property
    def name(self) -> str:
        return self.shown.name

    @property
    def fixed_axis(self) -> int:
        return self.shown.fixed_axis

    def extent(self) -> tuple[float, float]:
        return self.shown.extent()

    def section(self, point: Point) -> int:
        """Index of the acquired section through a stack point (what the view redraws on)."""
        there = self.view.acquired_point(point)
        return self.shown.clamp(there)[self.fixed_axis]

    def image(self, volume: np.ndarray, point: Point) -> np.ndarray:
        there = self.view.acquired_point(point)
        if not self.samples_stack:
            return self.shown.image(volume, there)
        return self.view.sample(volume, self._section_points(there))

    def _section_points(self, there: Point) -> np.ndarray:
        """Acquired points of every pixel of the section, laid out as Plane.image lays the
        acquired volume out (superior up in coronal and sagittal)."""
        k, r, c = self.shown.clamp(there)
        if self.name == "axial":
            return self.view.axial_points(k)
        across = np.arange(self.view.size, dtype=np.float64)
        down = np.arange(self.view.n - 1, -1, -1, dtype=np.float64)  # superior first
        ks, other = np.meshgrid(down, across, indexing="ij")
        fixed = np.full(ks.shape, float(r if self.name == "coronal" else c))
        if self.name == "coronal":
            return np.stack([ks, fixed, other], axis=-1)
        return np.stack([ks, other, fixed], axis=-1)

    def to_view(self, point: Point) -> tuple[float, float]:
        return self.shown.to_view(self.view.acquired_point(point))

    def from_view(self, x: float, y: float, through: Point) -> Point:
        there = self.shown.from_view(x, y, self.view.acquired_point(through))
        return self.view.stack_point(there)

    def holds(self, point: Point, through: Point) -> bool:
        return self.section(point) == self.section(through)

    def clamp(self, point: Point) -> tuple[int, int, int]:
        """The whole model-stack pixel nearest to point, inside the stack."""
        tops = (self.n - 1, self.size - 1, self.size - 1)
        return tuple(  # type: ignore[return-value]
            max(0, min(top, math.floor(v + 0.5))) for v, top in zip(point, tops, strict=True)
        )

    def stepped(self, point: Point, steps: int) -> tuple[int, int, int]:
        """The stack point ``steps`` acquired sections on (superior, anterior, right), so the
        wheel walks the scan's own slices, however thick."""
        k, r, c = self.shown.clamp(self.view.acquired_point(point))
        if self.name == "axial":
            k = max(0, min(self.view.n - 1, k + steps))
        elif self.name == "coronal":
            r = max(0, min(self.view.size - 1, r - steps))
        else:
            c = max(0, min(self.view.size - 1, c + steps))
        return self.clamp(self.view.stack_point((float(k), float(r), float(c))))
