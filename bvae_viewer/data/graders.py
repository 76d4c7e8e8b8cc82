"""A case's grader masks: stored beside its seg (new synthetic sets), or generated from it.

Synthetic sets written by generator 1.1 or later hold CASE/CASE_graders.nii.gz. Older
synthetic sets and real BraTS have one annotation only; their graders are generated from the
seg with a fixed seed per case (``source == "generated"``), so every run sees the same ones.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from bvae_viewer.data.brats import BratsCase, DatasetError
from bvae_viewer.data.preprocess import InPlaneGrid, resample_labels
from bvae_viewer.data.synth.graders import GRADERS, grader_masks
from bvae_viewer.data.synth.writer import GRADERS_SUFFIX
from bvae_viewer.io import load_volume
from bvae_viewer.io.orientation import spacing_of, to_canonical

GENERATED_SEED = 20180613  # fixed: generated graders are the same in every run


@dataclass(frozen=True)
class GraderMasks:
    """Whole-tumour masks of several graders, RAS voxel order like ``load_volume``."""

    masks: np.ndarray  # (n, X, Y, Z) uint8 in {0, 1}
    source: str  # "stored" (CASE_graders.nii.gz) or "generated" (from the seg here)

    @property
    def n(self) -> int:
        return int(self.masks.shape[0])


def graders_path(case: BratsCase) -> Path:
    return case.image.parent / f"{case.case_id}{GRADERS_SUFFIX}"


def _read_stored(path: Path, shape: tuple[int, ...] | None) -> np.ndarray:
    image = nib.load(str(path))
    data = np.asarray(image.dataobj)
    if data.ndim != 4:
        raise DatasetError(f"{path} should be a 4D volume (graders on the last axis).")
    # The same reorientation load_volume gives the seg (trailing grader axis untouched).
    data, _ = to_canonical(data, image.affine)
    masks = np.moveaxis(np.asarray(data) > 0, -1, 0).astype(np.uint8)
    if shape is not None and masks.shape[1:] != shape:
        raise DatasetError(
            f"The grader masks {path} do not match the seg grid ({masks.shape[1:]} vs {shape})."
        )
    return masks


def case_seed(case_id: str) -> int:
    """The generated graders' seed of a case: fixed, and different between cases."""
    return GENERATED_SEED ^ zlib.crc32(case_id.encode())


def load_graders(case: BratsCase, seg: np.ndarray | None = None, n: int = GRADERS) -> GraderMasks:
    """The case's grader masks (RAS), stored or generated; ``seg``: its RAS labels if loaded.

    Raises DatasetError for a case without a segmentation.
    """
    path = graders_path(case)
    if path.is_file():
        shape = None if seg is None else tuple(seg.shape)
        return GraderMasks(_read_stored(path, shape), "stored")
    spacing = 1.0  # BraTS and the synthetic sets are 1 mm isotropic
    if seg is None:
        if case.seg is None:
            raise DatasetError(f"Case {case.case_id} has no segmentation to grade.")
        volume = load_volume(case.seg)
        seg = np.rint(volume.data).astype(np.int16)
        # Another grid keeps the perturbations mm-sized.
        spacing = float(np.mean(spacing_of(volume.affine)))
    return GraderMasks(grader_masks(seg, case_seed(case.case_id), n, spacing), "generated")


def graders_on_grid(graders: GraderMasks, grid: InPlaneGrid, size: int = 128) -> np.ndarray:
    """Each grader resampled to the slice grid (nearest neighbour): (n, Z, size, size) bool."""
    return np.stack([resample_labels(m, grid, size) > 0 for m in graders.masks])


def pack_graders(masks: np.ndarray) -> np.ndarray:
    """(n, N, S, S) binary masks -> (N, S, S) uint8 with bit g for grader g (n <= 8)."""
    masks = np.asarray(masks)
    if not 1 <= len(masks) <= 8:
        raise ValueError("Between one and eight graders fit in a byte.")
    out = np.zeros(masks.shape[1:], dtype=np.uint8)
    for g, m in enumerate(masks):
        out |= (np.asarray(m) > 0).astype(np.uint8) << g
    return out
