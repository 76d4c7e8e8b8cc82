"""The model's space: the BraTS grid on which the synthetic training subjects were built.

Training subjects place the MNI152 2009a template (nilearn) on a 240x240x155 1 mm grid,
scaled by about 0.93 (MNI is larger than a typical BraTS brain) with its brain centre near
voxel (119.5, 120.5, 73); see data/synth/deform.py. The mean placement (no rotation, mean
scale) is the target of the front end's registration.
"""

from __future__ import annotations

import numpy as np

from bvae_viewer.data.synth.deform import GRID_SHAPE, RAS_AFFINE

MODEL_SHAPE: tuple[int, int, int] = GRID_SHAPE
MODEL_AFFINE = RAS_AFFINE  # model voxel (RAS order) -> model grid mm
# Mean of sample_geometry: scale 0.93, centre (119.5, 120.5, 73).
MODEL_SCALE = 0.93
MODEL_CENTRE_VOXEL = np.array([119.5, 120.5, 73.0])
# Centre of the MNI152 2009a brain mask's bounding box in MNI mm (anatomy.centre + origin);
# a test checks it against nilearn's template.
MNI_BRAIN_CENTRE_MM = np.array([0.0, -17.0, 5.0])


def model_voxel_to_mni() -> np.ndarray:
    """4x4: model voxel index (RAS order) -> MNI mm (RAS)."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.eye(3) / MODEL_SCALE
    matrix[:3, 3] = MNI_BRAIN_CENTRE_MM - MODEL_CENTRE_VOXEL / MODEL_SCALE
    return matrix


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A 4x4 affine applied to (N, 3) points (or one (3,) point)."""
    pts = np.asarray(points, dtype=np.float64)
    flat = pts.reshape(-1, 3)
    out = flat @ matrix[:3, :3].T + matrix[:3, 3]
    return out.reshape(pts.shape)
