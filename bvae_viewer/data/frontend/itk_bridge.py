"""numpy RAS volumes <-> SimpleITK images (LPS physical space), and transforms as matrices."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

# RAS <-> LPS: x and y change sign; the same matrix both ways.
FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def to_sitk(data: np.ndarray, affine_ras: np.ndarray) -> sitk.Image:
    """A (X, Y, Z) array with its voxel -> RAS mm affine as a float32 SimpleITK image."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(data, (2, 1, 0)), np.float32))
    lps = FLIP @ np.asarray(affine_ras, dtype=np.float64)
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(v) for v in (lps[:3, :3] / spacing).ravel()])
    image.SetOrigin([float(v) for v in lps[:3, 3]])
    return image


def from_sitk(image: sitk.Image) -> np.ndarray:
    """The voxels of a SimpleITK image as an (X, Y, Z) array."""
    return np.ascontiguousarray(np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0)))


def voxel_to_ras(image: sitk.Image) -> np.ndarray:
    """4x4: voxel index of a SimpleITK image -> RAS mm."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = direction * np.asarray(image.GetSpacing())
    lps[:3, 3] = image.GetOrigin()
    return FLIP @ lps


def transform_to_ras(transform: sitk.Transform) -> np.ndarray:
    """4x4 RAS mm -> RAS mm of an affine SimpleITK transform (read off at four points)."""
    base = np.array([[0.0, 0.0, 0.0], [100.0, 0, 0], [0, 100.0, 0], [0, 0, 100.0]])
    mapped = np.array([transform.TransformPoint(tuple(p)) for p in base])
    lps = np.eye(4)
    lps[:3, 3] = mapped[0]
    lps[:3, :3] = (mapped[1:] - mapped[0]).T / 100.0
    return FLIP @ lps @ FLIP
