"""The MNI152 2009a template and its tissue maps (shipped by nilearn), prepared once per process.

Everything here lives in template voxel space (1 mm, RAS, origin at MNI (-98, -134, -72)),
cropped to the brain with a margin. Per-subject randomness is applied later; the maps here
are fixed, including the vessel pattern (it is deformed differently for every subject).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from bvae_viewer.data.synth.fields import SmoothField

# Fixed so that every process builds the same vessel pattern: the data set stays a pure
# function of the user's seed.
_ANATOMY_SEED = 20090
_CROP_MARGIN = 6


class SynthError(Exception):
    """Synthetic data cannot be made; the message says why."""


@dataclass(frozen=True)
class Anatomy:
    """Template maps, cropped; voxel v of the crop is template voxel v + offset."""

    t1: np.ndarray  # float32, template T1 in [0, 1], zero outside the brain
    mask: np.ndarray  # float32 {0, 1}, brain mask
    wm: np.ndarray  # float32 white-matter probability
    tissue: np.ndarray  # float32 grey + white matter probability (not CSF)
    vessels: np.ndarray  # float32 [0, 1], cortical vessels in sulci and on the surface
    choroid: np.ndarray  # float32 [0, 1], choroid plexus in the lateral ventricles
    falx: np.ndarray  # float32 [0, 1], dura of the interhemispheric fissure
    offset: np.ndarray  # (3,) int, crop origin in template voxels
    mni_origin: np.ndarray  # (3,) float, MNI mm of template voxel (0, 0, 0)
    centre: np.ndarray  # (3,) float, centre of the brain's bounding box (template voxels)
    extent: np.ndarray  # (2, 3) float, brain bounding box (template voxels)
    levels: dict[str, float]  # median template T1 in CSF, grey and white matter
    hemisphere_sites: np.ndarray  # (N, 4) float32: template voxel xyz and depth (mm)
    any_sites: np.ndarray  # (M, 4) float32: the same anywhere in the brain


def _load_nilearn() -> tuple[np.ndarray, ...]:
    try:
        from nilearn import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SynthError(
            "Synthetic data needs the optional package nilearn: "
            "install it with pip install 'bvae-viewer[synth]'."
        ) from exc
    images = (
        datasets.load_mni152_template(resolution=1),
        datasets.load_mni152_gm_template(resolution=1),
        datasets.load_mni152_wm_template(resolution=1),
        datasets.load_mni152_brain_mask(resolution=1),
    )
    origin = np.asarray(images[0].affine[:3, 3], dtype=np.float64)
    return (*(np.asarray(im.get_fdata(), dtype=np.float32) for im in images), origin)


def _crop(mask: np.ndarray) -> tuple[slice, ...]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - _CROP_MARGIN, 0)
    hi = np.minimum(idx.max(axis=0) + _CROP_MARGIN + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def _vessel_maps(
    csf: np.ndarray, depth: np.ndarray, mni: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_ANATOMY_SEED)
    x, y, z = mni
    lo = (x[0], y[0], z[0])
    hi = (x[-1], y[-1], z[-1])
    # Vessels: where two independent smooth fields both cross zero, a thin tube.
    n = SmoothField(rng, lo, hi, spacing=6.0, channels=2).on_axes(x, y, z)
    width = 0.15
    tubes = np.clip(1 - np.abs(n[0]) / width, 0, 1) * np.clip(1 - np.abs(n[1]) / width, 0, 1)
    sulcal = np.clip((csf - 0.25) / 0.4, 0, 1) * (depth < 22)
    surface = np.clip(1 - depth / 3.0, 0, 1) * (depth > 0)
    vessels = tubes * np.maximum(sulcal, surface)

    # Choroid plexus: clumps in the ventricles, strongest in the atria (trigones).
    clumps = np.clip(SmoothField(rng, lo, hi, spacing=4.0).on_axes(x, y, z)[0] + 0.4, 0, 1)
    ventricle = np.clip((csf - 0.55) / 0.3, 0, 1) * (depth > 12)
    xx, yy, zz = np.meshgrid(x, y, z, indexing="ij", sparse=True)
    atria = np.exp(-((np.abs(xx) - 27) ** 2 + (yy + 36) ** 2 + (zz - 12) ** 2) / (2 * 8.0**2))
    body = 0.5 * np.exp(-((np.abs(xx) - 16) ** 2 + (yy + 12) ** 2 + (zz - 20) ** 2) / (2 * 9.0**2))
    choroid = ventricle * clumps * np.maximum(atria, body)

    # Falx: the dura between the hemispheres enhances a little.
    falx = np.exp(-(xx**2) / (2 * 0.9**2)) * np.clip((csf - 0.3) / 0.4, 0, 1) * (zz > -5)
    return (
        vessels.astype(np.float32),
        choroid.astype(np.float32),
        np.broadcast_to(falx, csf.shape).astype(np.float32),
    )


def _sites(keep: np.ndarray, depth: np.ndarray, offset: np.ndarray) -> np.ndarray:
    idx = np.argwhere(keep)[::7]  # subsampled: a 1 mm choice of centre is not needed
    return np.column_stack([idx + offset, depth[tuple(idx.T)]]).astype(np.float32)


@lru_cache(maxsize=1)
def load_anatomy() -> Anatomy:
    """The prepared template (loaded on first use, then cached for the process)."""
    return build_anatomy(*load_mni152_maps())


@lru_cache(maxsize=1)
def load_mni152_maps() -> tuple[np.ndarray, ...]:
    """The MNI152 T1, grey and white matter, brain mask (template grid) and its origin (mm)."""
    return _load_nilearn()


def build_anatomy(
    t1: np.ndarray, gm: np.ndarray, wm: np.ndarray, mask: np.ndarray, origin: np.ndarray
) -> Anatomy:
    """Prepare an anatomy from maps on the MNI152 1 mm grid (T1 in [0, 1]; other heads are
    registered onto that grid first, so MNI coordinates mean the same for every anatomy)."""
    mask = mask > 0.5
    box = _crop(mask)
    offset = np.array([s.start for s in box])
    t1, gm, wm, mask = (a[box] for a in (t1, gm, wm, mask))
    t1 = t1 * mask
    tissue = np.clip(gm + wm, 0, 1) * mask
    csf = np.clip(1 - tissue, 0, 1) * mask
    depth = ndimage.distance_transform_edt(mask).astype(np.float32)
    mni = tuple(origin[a] + offset[a] + np.arange(t1.shape[a], dtype=np.float64) for a in range(3))
    vessels, choroid, falx = _vessel_maps(csf, depth, mni)

    levels = {
        name: float(np.median(t1[(p > 0.8) & mask]))
        for name, p in (("csf", csf), ("gm", gm), ("wm", wm))
    }
    idx = np.argwhere(mask)
    extent = np.stack([idx.min(axis=0), idx.max(axis=0)]).astype(np.float64) + offset
    xx, yy, zz = np.meshgrid(*mni, indexing="ij", sparse=True)
    solid = mask & (tissue > 0.5) & (depth >= 6)
    cerebellum_or_stem = ((zz < -10) & (yy < -35)) | ((zz < 0) & (np.abs(xx) < 14) & (yy < -5))
    hemisphere = solid & (np.abs(xx) >= 6) & (zz > -28) & ~cerebellum_or_stem
    return Anatomy(
        t1=t1.astype(np.float32),
        mask=mask.astype(np.float32),
        wm=(wm * mask).astype(np.float32),
        tissue=tissue.astype(np.float32),
        vessels=vessels,
        choroid=choroid,
        falx=falx,
        offset=offset,
        mni_origin=origin,
        centre=extent.mean(axis=0),
        extent=extent,
        levels=levels,
        hemisphere_sites=_sites(hemisphere, depth, offset),
        any_sites=_sites(solid, depth, offset),
    )
