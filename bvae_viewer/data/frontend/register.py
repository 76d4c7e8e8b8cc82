"""Affine registration (SimpleITK): a template with skull onto the input head.

Mattes mutual information, so a T1 template also aligns to another contrast. Started from
a translation that lines up the top of the two heads: clinical scans often carry the neck
and shoulders, which pull a centre-of-mass start far down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from bvae_viewer.data.frontend.bias import head_mask
from bvae_viewer.data.frontend.itk_bridge import FLIP, from_sitk, transform_to_ras, voxel_to_ras

REGISTRATION_MM = 3.0  # the grid the input is registered on: affine needs no more detail
_TOP_DEPTH_MM = 110.0  # the part of the head below the vertex used for the start
SAMPLING = 0.15  # fraction of the fixed voxels the metric samples
BRAIN_MARGIN_VOXELS = 3  # the brain-focused stage also sees this much around the brain
_SEED = 17


@dataclass(frozen=True)
class Steps:
    """Regular-step gradient descent: how far it starts, when it stops, how it slows."""

    iterations: int
    learning_rate: float = 2.0
    min_step: float = 1e-3
    relaxation: float = 0.6
    tolerance: float = 1e-6
    sampling: float = SAMPLING


# The brain-focused stage must converge: 60 steps of the whole-head settings left ITK's
# coronal head short of the metric's optimum (Dice 0.909 against 0.940 converged,
# docs/frontend.md). Larger, slower-shrinking steps and more samples reach it in 1-5 s.
BRAIN_STEPS = Steps(1500, learning_rate=4.0, min_step=1e-2, relaxation=0.8, tolerance=1e-8,
                    sampling=0.3)


def isotropic(image: sitk.Image, mm: float) -> sitk.Image:
    """Smoothed and resampled to mm-isotropic voxels, same extent (for registration only)."""
    spacing = np.asarray(image.GetSpacing())
    size = np.asarray(image.GetSize())
    # FWHM of the new voxel, less what the old one already had (never zero: ITK refuses).
    sigma = [max(0.01, max(0.0, mm**2 - s**2) ** 0.5 / 2.355) for s in spacing]
    smooth = sitk.SmoothingRecursiveGaussian(image, sigma)
    new_size = [max(1, int(np.rint(n * s / mm))) for n, s in zip(size, spacing, strict=True)]
    # Keep the physical extent: the first voxel's corner stays where it was.
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    corner = np.asarray(image.GetOrigin()) - direction @ (spacing / 2)
    origin = corner + direction @ np.full(3, mm / 2)
    return sitk.Resample(
        smooth, new_size, sitk.Transform(), sitk.sitkLinear, origin.tolist(), [mm] * 3,
        image.GetDirection(), 0.0, sitk.sitkFloat32,
    )


def head_top_centre(image: sitk.Image) -> np.ndarray:
    """LPS mm: centroid of the head within _TOP_DEPTH_MM below its highest point."""
    mask = from_sitk(head_mask(image)) > 0
    idx = np.argwhere(mask)
    if idx.size == 0:
        return np.asarray(image.TransformContinuousIndexToPhysicalPoint(
            [(n - 1) / 2 for n in image.GetSize()]))
    ras = idx @ voxel_to_ras(image)[:3, :3].T + voxel_to_ras(image)[:3, 3]
    top = ras[:, 2].max()
    centre = ras[ras[:, 2] >= top - _TOP_DEPTH_MM].mean(axis=0)
    return np.array([-centre[0], -centre[1], centre[2]])


def affine_register(
    fixed: sitk.Image, moving: sitk.Image, moving_brain: sitk.Image | None = None
) -> sitk.Transform:
    """The transform from fixed to moving physical points (SimpleITK's convention): rigid,
    then affine on the whole head, then (given the moving image's brain fraction) affine
    again with the metric restricted to the brain and its surroundings, where the mask
    must be right; the scalp, neck and skull of another head differ more than its brain."""
    fine = isotropic(fixed, REGISTRATION_MM)
    start = sitk.Euler3DTransform()
    start.SetCenter(head_top_centre(fixed).tolist())
    start.SetTranslation((head_top_centre(moving) - head_top_centre(fixed)).tolist())
    rigid = _run(fine, moving, start, Steps(120))
    affine = _run(fine, moving, as_affine(rigid), Steps(150))
    if moving_brain is None:
        return affine
    near_brain = sitk.Resample(moving_brain, fine, affine, sitk.sitkLinear, 0.0) > 0.5
    near_brain = sitk.BinaryDilate(near_brain, [BRAIN_MARGIN_VOXELS] * 3)
    return _run(fine, moving, as_affine(affine), BRAIN_STEPS, fixed_mask=near_brain)


def as_affine(transform: sitk.Transform) -> sitk.AffineTransform:
    """Any affine-like transform as an AffineTransform (centre at the origin)."""
    lps = FLIP @ transform_to_ras(transform) @ FLIP
    affine = sitk.AffineTransform(3)
    affine.SetMatrix(lps[:3, :3].ravel().tolist())
    affine.SetTranslation(lps[:3, 3].tolist())
    return affine


def _run(
    fixed: sitk.Image,
    moving: sitk.Image,
    initial: sitk.Transform,
    steps: Steps,
    fixed_mask: sitk.Image | None = None,
    levels: int = 2,
) -> sitk.Transform:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(steps.sampling, _SEED)
    if fixed_mask is not None:
        method.SetMetricFixedMask(fixed_mask)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=steps.learning_rate, minStep=steps.min_step,
        numberOfIterations=steps.iterations, gradientMagnitudeTolerance=steps.tolerance,
        relaxationFactor=steps.relaxation,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([2, 1][-levels:])
    method.SetSmoothingSigmasPerLevel([2.0, 0.0][-levels:])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    # One thread: ITK's threads sum the metric in a varying order, so the same scan gave a
    # slightly different transform each run (scores differing in the second decimal, never a
    # cache hit). The metric takes ITK's global default, not the method's own setting.
    # Measured on a 2 mm head: 7 s of registration with the default threads, 12 s with one.
    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        return method.Execute(fixed, moving)
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
