"""A folder of cases for the batch tests, built in code from the demo case and a phantom.

Small on purpose (20-30 axial slices each), so the real bundled model gets through the
whole batch in seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from bvae_viewer import paths
from tests.volumes import brain_phantom, write_nifti

CORRUPT_NAME = "broken.nii.gz"


def thinned_demo(path: Path, step: int, offset: int = 0) -> Path:
    """The bundled demo head (a tumour) with every ``step``-th axial slice kept: the same
    anatomy at a thicker slice spacing, so it still looks like a whole brain to the model."""
    image = nib.load(str(paths.demo_case()))
    data = np.asarray(image.dataobj, dtype=np.float32)[:, :, offset::step]
    affine = image.affine.copy()
    affine[:3, 2] *= step
    return write_nifti(path, data, affine)


def write_batch(root: Path) -> Path:
    """Four cases, as a reading list might hold them: two BraTS-layout case folders, one
    plain volume file, and one file that is not a readable volume at all."""
    root.mkdir(parents=True, exist_ok=True)
    thinned_demo(root / "case_thin6" / "case_thin6_t1ce.nii.gz", 6)
    thinned_demo(root / "case_thin8" / "case_thin8_t1ce.nii.gz", 8)
    image, _seg = brain_phantom(shape=(64, 72, 24), tumour=True, seed=3)
    write_nifti(root / "phantom.nii.gz", image)
    (root / CORRUPT_NAME).write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    (root / "notes.txt").write_text("reading list, not a case\n")
    return root
