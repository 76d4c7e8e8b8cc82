"""How much subjects differ: the classic variety, the wide one, and fixed factors.

``classic`` is the generator the bundled model was trained on (MNI152, 1-3 mm warps); it is
kept unchanged so that its data sets and the demo case stay byte for byte what they were.
``wide`` draws real anatomical and scanner variety in the spirit of SynthSeg's domain
randomisation (Billot et al., 2023): several real heads, deformations up to 6 mm standard
deviation, global and regional scaling, ventricle size, cortical thickness, left-right
asymmetry, per-tissue contrast, gamma, bias fields up to +-25 %, noise, blur and thick
slices. Its draws come from their own random stream, so adding one never moves another.

``Factors`` fixes chosen strengths instead of drawing them: the robustness suite varies one
at a time. Strengths beyond ``TRAINING_RANGE`` and the held-out anatomies are for testing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from bvae_viewer.data.synth.appearance import Acquisition, Contrast
from bvae_viewer.data.synth.deform import GRID_SHAPE, Geometry
from bvae_viewer.data.synth.fields import SmoothField

CLASSIC = "classic"
WIDE = "wide"
VARIETIES = (CLASSIC, WIDE)
WIDE_STREAM = 0x51DE  # spawn key of the wide variety's own random stream

# What the wide variety trains on (inclusive ranges); the robustness suite goes beyond.
TRAINING_RANGE = {
    "deformation_mm": (1.0, 6.0),
    "bias": (0.0, 0.25),
    "gamma": (0.7, 1.4),
    "noise": (0.005, 0.04),
    "blur_mm": (0.0, 1.2),
    "slice_mm": (1, 6),
}
_GRID_HI = tuple(float(n - 1) for n in GRID_SHAPE)


@dataclass(frozen=True)
class Factors:
    """Strengths fixed instead of drawn (None: drawn as the variety draws it)."""

    deformation_mm: float | None = None  # standard deviation of the smooth displacement
    bias: float | None = None  # peak bias deviation (0.2: +-20 %)
    gamma: float | None = None
    noise: float | None = None  # Rician sigma relative to white matter
    blur_mm: float | None = None  # Gaussian sigma, in-plane
    slice_mm: int | None = None  # slice thickness (1: none)

    def as_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# The robustness suite's base: a clean scan; each factor is then varied from here.
NEUTRAL = Factors(deformation_mm=1.5, bias=0.0, gamma=1.0, noise=0.015, blur_mm=0.0, slice_mm=1)


def wide_stream(seed: int) -> np.random.Generator:
    """The wide variety's random stream for a case seed."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(WIDE_STREAM,)))


def _uniform(rng: np.random.Generator, name: str) -> float:
    lo, hi = TRAINING_RANGE[name]
    return float(rng.uniform(lo, hi))


def widen_geometry(geometry: Geometry, rng: np.random.Generator) -> Geometry:
    """Wider scale and rotation, larger warps, regional scaling and hemispheric asymmetry."""
    overall = float(np.clip(rng.normal(0.93, 0.05), 0.82, 1.05))
    scale = overall * np.clip(rng.normal(1.0, 0.035, 3), 0.92, 1.08)
    return replace(
        geometry,
        scale=scale,
        rotation_deg=np.clip(rng.normal(0.0, 3.0, 3), -8.0, 8.0),
        ffd_mm=_uniform(rng, "deformation_mm"),
        # Bumps 56 mm apart: a lobe grows or shrinks as a whole, not a gyrus.
        regional=SmoothField(rng, (0, 0, 0), _GRID_HI, 56.0, channels=3),
        regional_mm=float(rng.uniform(0.0, 3.0)),
        asymmetry=float(rng.uniform(-0.04, 0.04)),
        petalia_mm=float(rng.uniform(-3.0, 3.0)),
    )


def wide_ventricle_push(rng: np.random.Generator) -> float:
    """Ventricle size: from slightly small to markedly enlarged (atrophy)."""
    return float(rng.uniform(-0.2, 0.6))


def wide_contrast(rng: np.random.Generator) -> Contrast:
    """Each tissue's level drawn on its own (white matter = 1), and cortical thickness."""
    return Contrast(
        csf=float(rng.uniform(0.10, 0.55)),
        gm=float(rng.uniform(0.58, 0.90)),
        vessels=float(rng.uniform(0.3, 1.6)),
        choroid=float(rng.uniform(0.3, 1.2)),
        falx=float(rng.uniform(0.0, 0.6)),
        thickness=float(rng.uniform(-0.35, 0.35)),
    )


def wide_acquisition(acq: Acquisition, rng: np.random.Generator) -> Acquisition:
    """Bias up to +-25 %, gamma, noise, blur or thick slices with partial volume."""
    kind = rng.random()
    lo, hi = TRAINING_RANGE["slice_mm"]
    slice_mm = int(rng.integers(max(lo, 2), hi + 1)) if kind < 0.25 else 1
    blur = _uniform(rng, "blur_mm") if 0.25 <= kind < 0.6 else 0.0
    g_lo, g_hi = TRAINING_RANGE["gamma"]
    return replace(
        acq,
        bias_peak=_uniform(rng, "bias"),
        noise=_uniform(rng, "noise"),
        slice_mm=slice_mm,
        slice_phase=int(rng.integers(0, slice_mm)),
        blur_mm=blur,
        gamma=float(np.exp(rng.uniform(np.log(g_lo), np.log(g_hi)))),
    )


def apply_factors(
    factors: Factors, geometry: Geometry, acq: Acquisition
) -> tuple[Geometry, Acquisition]:
    """The subject with the fixed strengths put in place of the drawn ones."""
    if factors.deformation_mm is not None:
        geometry = replace(geometry, ffd_mm=float(factors.deformation_mm))
    changes: dict[str, float | int | None] = {}
    if factors.bias is not None:
        changes["bias_peak"] = float(factors.bias)
    if factors.gamma is not None:
        changes["gamma"] = float(factors.gamma)
    if factors.noise is not None:
        changes["noise"] = float(factors.noise)
    if factors.slice_mm is not None:
        changes.update(slice_mm=int(factors.slice_mm), slice_phase=0)
    if factors.blur_mm is not None:
        changes["blur_mm"] = float(factors.blur_mm)
    return geometry, replace(acq, **changes)
