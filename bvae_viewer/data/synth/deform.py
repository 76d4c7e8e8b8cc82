"""Subject geometry: where the template lands on the BraTS grid, and how it is bent.

Pull-back warping: for every output voxel we compute the template voxel it shows,
template = c_t + S^-1 R^T (x - mass(x) - c_o) + ffd(x), and interpolate there. ``mass``
pushes tissue away from a centre (tumour mass effect, or larger ventricles), ``ffd`` is a
smooth random displacement of a few millimetres, S and R are a global scale and rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bvae_viewer.data.synth.anatomy import Anatomy
from bvae_viewer.data.synth.fields import SmoothField

GRID_SHAPE = (240, 240, 155)
# BraTS files store voxels LPS-wise: affine diag(-1, -1, 1) with the origin at (0, 239, 0).
STORED_AFFINE = np.array(
    [[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
)
# The same grid in RAS voxel order, which is how volumes are built before storing.
RAS_AFFINE = np.array([[1.0, 0, 0, -239.0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
_BOX_MARGIN = 14  # voxels around the mapped brain: deformation and mass effect move it


def to_stored(ras: np.ndarray) -> np.ndarray:
    """A RAS-ordered grid array in the BraTS storage order (first two axes reversed)."""
    return np.ascontiguousarray(ras[::-1, ::-1, :])


def rotation(degrees: np.ndarray) -> np.ndarray:
    """Rotation matrix from angles about x, y and z (degrees)."""
    ax, ay, az = np.deg2rad(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class MassEffect:
    """Radial push away from ``centre`` (output voxels): strong inside ``radius``, then decaying."""

    centre: np.ndarray
    radius: float  # mm
    strength: float  # fraction of the radius the boundary moves outwards, |strength| < 1
    decay: float  # mm, e-folding distance outside the radius

    def reach(self) -> float:
        """Distance (mm) beyond which the push is below 0.05 mm."""
        peak = abs(self.strength) * self.radius
        if peak <= 0.05:
            return self.radius
        return self.radius + self.decay * float(np.log(peak / 0.05))

    def push(self, r: np.ndarray) -> np.ndarray:
        """Outward displacement (mm) of tissue now at distance r."""
        inside = np.minimum(r / self.radius, 1.0)
        fall = np.exp(-np.maximum(r - self.radius, 0) / self.decay)
        return self.strength * self.radius * inside * fall


@dataclass(frozen=True)
class Geometry:
    """One subject's placement and deformation of the template."""

    scale: np.ndarray  # (3,)
    rotation_deg: np.ndarray  # (3,)
    centre_out: np.ndarray  # (3,) output voxel where the template brain centre lands
    ffd: SmoothField  # 3 channels, unit variance
    ffd_mm: float  # standard deviation of the smooth displacement
    # The wide variety (variation.py) adds these; the classic one leaves them off.
    regional: SmoothField | None = None  # 3 channels, coarse: regional growth and shrinkage
    regional_mm: float = 0.0
    asymmetry: float = 0.0  # left-right: one hemisphere wider by this fraction
    petalia_mm: float = 0.0  # one hemisphere shifted forward, the other back

    def _matrix(self) -> np.ndarray:
        return rotation(self.rotation_deg) @ np.diag(self.scale)

    def forward(self, template_voxel: np.ndarray, anatomy: Anatomy) -> np.ndarray:
        """Output voxel of a template voxel (global transform only)."""
        return self.centre_out + self._matrix() @ (np.asarray(template_voxel) - anatomy.centre)

    def output_box(self, anatomy: Anatomy) -> tuple[slice, slice, slice]:
        """The part of the output grid the brain can reach."""
        lo, hi = anatomy.extent
        corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                            for c in (lo[2], hi[2])])
        out = np.array([self.forward(c, anatomy) for c in corners])
        first = np.maximum(np.floor(out.min(axis=0)) - _BOX_MARGIN, 0).astype(int)
        last = np.minimum(np.ceil(out.max(axis=0)) + _BOX_MARGIN + 1, GRID_SHAPE).astype(int)
        return tuple(slice(int(a), int(b)) for a, b in zip(first, last, strict=True))

    def template_coords(
        self, box: tuple[slice, ...], anatomy: Anatomy, masses: list[MassEffect]
    ) -> np.ndarray:
        """Crop-voxel coordinates (3, X, Y, Z) float32 sampled by each output voxel of box."""
        axes = [np.arange(s.start, s.stop, dtype=np.float32) for s in box]
        shape = tuple(len(a) for a in axes)
        src = [np.broadcast_to(a.reshape([-1 if d == i else 1 for d in range(3)]), shape).copy()
               for i, a in enumerate(axes)]
        for mass in masses:
            _apply_mass(src, axes, mass)
        minv = np.linalg.inv(self._matrix()).astype(np.float32)
        base = (anatomy.centre - anatomy.offset).astype(np.float32)
        rel = [s - c for s, c in zip(src, self.centre_out.astype(np.float32), strict=True)]
        disp = self.ffd.on_axes(*axes)
        coords = np.empty((3, *shape), dtype=np.float32)
        for a in range(3):
            coords[a] = base[a] + self.ffd_mm * disp[a]
            for b in range(3):
                coords[a] += minv[a, b] * rel[b]
        del disp
        if self.regional is not None and self.regional_mm > 0:
            coords += np.float32(self.regional_mm) * self.regional.on_axes(*axes)
        if self.asymmetry or self.petalia_mm:
            self._hemispheres(coords, anatomy)
        return coords

    def _hemispheres(self, coords: np.ndarray, anatomy: Anatomy) -> None:
        """Left-right asymmetry, smooth across the midline (MNI x = 0), in place."""
        midline = np.float32(-anatomy.mni_origin[0] - anatomy.offset[0])
        across = coords[0] - midline
        side = np.tanh(across / np.float32(4.0))  # -1 left, +1 right
        coords[0] = midline + across * (1 + np.float32(self.asymmetry) * side)
        coords[1] += np.float32(self.petalia_mm) * side


def _apply_mass(src: list[np.ndarray], axes: list[np.ndarray], mass: MassEffect) -> None:
    reach = mass.reach()
    sub = []
    for a, axis in enumerate(axes):
        keep = np.nonzero(np.abs(axis - mass.centre[a]) <= reach)[0]
        if keep.size == 0:
            return
        sub.append(slice(int(keep[0]), int(keep[-1]) + 1))
    sub = tuple(sub)
    rel = [src[a][sub] - np.float32(mass.centre[a]) for a in range(3)]
    r = np.sqrt(rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2) + np.float32(1e-6)
    factor = (mass.push(r) / r).astype(np.float32)
    for a in range(3):
        src[a][sub] -= factor * rel[a]


def sample_geometry(rng: np.random.Generator, anatomy: Anatomy) -> Geometry:
    """Random placement: MNI is larger than a typical BraTS (SRI24) brain, hence scale ~0.93."""
    overall = float(np.clip(rng.normal(0.93, 0.035), 0.85, 1.01))
    scale = overall * np.clip(rng.normal(1.0, 0.02, 3), 0.95, 1.05)
    rot = np.clip(rng.normal(0.0, 2.0, 3), -5.0, 5.0)
    centre = np.array([119.5, 120.5, 73.0]) + rng.normal(0, [1.5, 2.0, 1.5])
    ffd = SmoothField(rng, (0, 0, 0), tuple(float(n - 1) for n in GRID_SHAPE), 32.0, channels=3)
    return Geometry(scale, rot, centre, ffd, float(rng.uniform(1.0, 3.0)))


def warp(volume: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Trilinear pull-back of a template-space volume (zero outside)."""
    return ndimage.map_coordinates(
        volume, coords, order=1, mode="constant", cval=0.0, prefilter=False, output=np.float32
    )
