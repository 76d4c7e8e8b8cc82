"""How a subject looks on T1ce: tissue contrast, enhancing structures, then the scanner.

Intensities are built in relative units (white matter = 1) and converted to arbitrary
scanner units at the end, as real scanners do: hundreds to a few thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bvae_viewer.data.synth.anatomy import Anatomy
from bvae_viewer.data.synth.deform import GRID_SHAPE
from bvae_viewer.data.synth.fields import SmoothField


@dataclass(frozen=True)
class Contrast:
    """Tissue levels relative to white matter, and gains of the enhancing structures."""

    csf: float
    gm: float
    vessels: float
    choroid: float
    falx: float
    # Cortical thickness: > 0 moves the grey-white boundary into white matter (thicker
    # cortex), < 0 out of it; a fraction of the grey-to-white intensity step.
    thickness: float = 0.0


@dataclass(frozen=True)
class Acquisition:
    """Scanner and reconstruction effects."""

    wm_units: float  # scanner units of white matter
    bias_amplitude: float  # std of log bias field
    bias: SmoothField
    noise: float  # Rician sigma relative to white matter
    slice_mm: int  # thick-slice acquisition (1 = none)
    slice_phase: int
    blur_mm: float  # in-plane Gaussian sigma (0 = none)
    # The wide variety and the robustness suite set these; the classic one leaves them off.
    bias_peak: float | None = None  # largest bias deviation in the brain box (0.2: +-20 %)
    gamma: float = 1.0  # intensity gamma, relative to white matter


def sample_contrast(rng: np.random.Generator) -> Contrast:
    """T1ce: white matter brighter than grey, CSF dark, vessels and choroid plexus bright."""
    return Contrast(
        csf=float(rng.uniform(0.22, 0.42)),
        gm=float(rng.uniform(0.70, 0.84)),
        vessels=float(rng.uniform(0.5, 1.4)),
        choroid=float(rng.uniform(0.5, 1.1)),
        falx=float(rng.uniform(0.1, 0.5)),
    )


def sample_acquisition(rng: np.random.Generator) -> Acquisition:
    """Scanner gain, bias field, noise and resolution of one scan."""
    kind = rng.random()
    slice_mm = int(rng.integers(3, 6)) if kind < 0.2 else 1
    blur = float(rng.uniform(0.4, 1.0)) if 0.2 <= kind < 0.5 else 0.0
    bias = SmoothField(rng, (0, 0, 0), tuple(float(n - 1) for n in GRID_SHAPE), 70.0)
    return Acquisition(
        wm_units=float(np.exp(rng.uniform(np.log(300.0), np.log(2500.0)))),
        bias_amplitude=float(rng.uniform(0.04, 0.18)),
        bias=bias,
        noise=float(rng.uniform(0.015, 0.06)),
        slice_mm=slice_mm,
        slice_phase=int(rng.integers(0, slice_mm)),
        blur_mm=blur,
    )


def template_intensity(anatomy: Anatomy, contrast: Contrast) -> np.ndarray:
    """The subject's T1ce in template space (relative units): a monotone remap of the
    template T1, which keeps its anatomical detail, plus enhancing structures."""
    lv = anatomy.levels
    top = 1.0 + (1.0 - lv["wm"]) * 0.8
    grey = lv["gm"] + contrast.thickness * (lv["wm"] - lv["gm"])
    knots = [0.0, lv["csf"], grey, lv["wm"], 1.0]
    image = np.interp(anatomy.t1, knots, [0.0, contrast.csf, contrast.gm, 1.0, top])
    image = image.astype(np.float32)
    image += contrast.vessels * anatomy.vessels
    image += contrast.choroid * anatomy.choroid
    image += contrast.falx * anatomy.falx
    return image * anatomy.mask


def _thick_slices(image: np.ndarray, thickness: int, phase: int) -> np.ndarray:
    """Acquire every ``thickness`` mm with a matching slice profile, interpolate back to 1 mm."""
    blurred = ndimage.gaussian_filter1d(image, sigma=thickness / 2.355, axis=2, mode="nearest")
    n = image.shape[2]
    pos = (np.arange(n) - phase) / thickness
    k0 = np.floor(pos).astype(int)
    w = (pos - k0).astype(np.float32)
    lo = np.clip(phase + k0 * thickness, 0, n - 1)
    hi = np.clip(phase + (k0 + 1) * thickness, 0, n - 1)
    return blurred[:, :, lo] * (1 - w) + blurred[:, :, hi] * w


def acquire(
    image: np.ndarray, box: tuple[slice, ...], acq: Acquisition, rng: np.random.Generator
) -> np.ndarray:
    """Resolution, bias field, gain and Rician noise applied to the box of a grid image."""
    region = image[box]
    if acq.slice_mm > 1:
        region = _thick_slices(region, acq.slice_mm, acq.slice_phase)
    elif acq.blur_mm > 0:
        region = ndimage.gaussian_filter(region, sigma=(acq.blur_mm, acq.blur_mm, 0.0))
    if acq.gamma != 1.0:
        region = np.power(np.maximum(region, 0), np.float32(acq.gamma))
    bias = _bias(acq, box)
    signal = region * bias * np.float32(acq.wm_units)
    sigma = np.float32(acq.noise * acq.wm_units)
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    out = np.zeros_like(image)
    out[box] = np.sqrt(real * real + imag * imag)
    return out


def _bias(acq: Acquisition, box: tuple[slice, ...]) -> np.ndarray:
    """The multiplicative bias field on the box: exp(amplitude * field), or, given a peak,
    1 + peak * field / max|field| (so +-20 % means exactly that at the extremes)."""
    axes = [np.arange(s.start, s.stop, dtype=np.float32) for s in box]
    field = acq.bias.on_axes(*axes)[0]
    if acq.bias_peak is None:
        return np.exp(acq.bias_amplitude * field)
    field -= np.float32(field.mean())
    scale = np.float32(acq.bias_peak / max(float(np.abs(field).max()), 1e-6))
    return 1 + scale * field
