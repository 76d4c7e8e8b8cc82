"""Small volumes built in code, shared by the test modules (no data is shipped)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np


def brain_phantom(
    shape: tuple[int, int, int] = (64, 72, 40),
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    tumour: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A skull-stripped brain-like ellipsoid (WM core, GM rim, ventricles); returns (image, seg)."""
    rng = np.random.default_rng(seed)
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    grids = np.meshgrid(*axes, indexing="ij")
    radii = [0.4 * n * s for n, s in zip(shape, spacing, strict=True)]
    r = np.sqrt(sum((g / rad) ** 2 for g, rad in zip(grids, radii, strict=True)))
    image = np.where(r < 1.0, 600.0, 0.0)
    image[r < 0.8] = 900.0  # white matter brighter than grey on T1ce
    ventricles = np.sqrt((grids[0] / 4) ** 2 + (grids[1] / 8) ** 2 + (grids[2] / 5) ** 2) < 1
    image[ventricles & (r < 1)] = 150.0
    image = image * (1 + 0.03 * rng.standard_normal(shape)) * (r < 1.0)
    seg = np.zeros(shape, dtype=np.uint8)
    if tumour:
        centre = [g - 0.2 * rad for g, rad in zip(grids, radii, strict=True)]
        d = np.sqrt(sum(c**2 for c in centre))
        seg[d < 9] = 2
        seg[d < 6] = 4
        seg[d < 3.5] = 1
        image[seg == 2] *= 0.8
        image[seg == 4] = 1600.0
        image[seg == 1] = 250.0
    return image.astype(np.float32), seg


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def write_brats_case(root: Path, case_id: str, tumour: bool, seed: int = 0) -> Path:
    """One BraTS2020-layout case folder with a LPS-stored affine as BraTS files have."""
    image, seg = brain_phantom(tumour=tumour, seed=seed)
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine[:3, 3] = [0.0, image.shape[1] - 1.0, 0.0]
    folder = root / case_id
    write_nifti(folder / f"{case_id}_t1ce.nii.gz", image.astype(np.int16), affine)
    write_nifti(folder / f"{case_id}_seg.nii.gz", seg, affine)
    return folder
