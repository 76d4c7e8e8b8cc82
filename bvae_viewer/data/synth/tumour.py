"""BraTS-like tumours on T1ce, painted into the (already pushed-aside) anatomy.

A tumour is a level set of a noise-perturbed ellipsoidal radius f (f < 1: tumour core).
Ring-enhancing: an irregular bright rim (label 4) around a dark necrotic core (label 1).
Solid: enhancing almost throughout. Non-enhancing: a hypointense core (label 1) without a
rim. Around all of them oedema (label 2), slightly dark on T1ce, reaching further along
white matter than into cortex, which gives its finger-like outline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bvae_viewer.data.synth.anatomy import Anatomy
from bvae_viewer.data.synth.deform import GRID_SHAPE, Geometry, MassEffect, rotation, warp
from bvae_viewer.data.synth.fields import SmoothField, smoothstep

KINDS = ("ring", "solid", "nonenhancing")
NECROSIS, OEDEMA, ENHANCING = 1, 2, 4


@dataclass(frozen=True)
class TumourSpec:
    """Everything random about one tumour (sizes in mm, levels relative to white matter)."""

    kind: str
    site: tuple[float, float, float]  # template voxel of the centre
    radius: float  # tumour core radius
    axes: tuple[float, float, float]  # elongation of the core
    angles: tuple[float, float, float]  # degrees
    irregularity: float  # amplitude of the radius perturbation (fraction of radius)
    necrosis: float  # necrotic core radius as a fraction of the core radius
    oedema: float  # how far oedema reaches beyond the core along white matter
    mass: float  # mass effect strength (fraction of the radius the boundary moves)
    core_level: float  # enhancing rim (ring, solid) or non-enhancing core intensity
    necrosis_level: float
    oedema_level: float

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def sample_tumour(rng: np.random.Generator, anatomy: Anatomy) -> TumourSpec:
    """A random tumour: sizes from a few mm to several cm, mostly in the cerebral hemispheres."""
    kind = str(rng.choice(KINDS, p=[0.55, 0.2, 0.25]))
    radius = float(np.exp(rng.uniform(np.log(3.0), np.log(24.0))))
    sites = anatomy.hemisphere_sites if rng.random() < 0.9 else anatomy.any_sites
    deep = sites[sites[:, 3] >= min(0.6 * radius + 4.0, 24.0)]
    site = deep[int(rng.integers(len(deep)))][:3]
    enhancing = kind != "nonenhancing"
    necrosis = {"ring": rng.uniform(0.45, 0.8), "solid": rng.uniform(0.0, 0.3)}.get(kind, 0.0)
    oedema = rng.uniform(0.3, 1.3) * radius + rng.uniform(2.0, 10.0)
    if not enhancing:
        oedema *= 0.6
    return TumourSpec(
        kind=kind,
        site=tuple(float(v) for v in site),
        radius=radius,
        axes=tuple(float(v) for v in np.clip(rng.normal(1.0, 0.12, 3), 0.75, 1.3)),
        angles=tuple(float(v) for v in rng.uniform(-90, 90, 3)),
        irregularity=float(rng.uniform(0.12, 0.35)),
        necrosis=float(necrosis),
        oedema=float(oedema),
        mass=float(rng.uniform(0.15, 0.5) if enhancing else rng.uniform(0.05, 0.3)),
        core_level=float(rng.uniform(1.35, 2.0) if enhancing else rng.uniform(0.5, 0.7)),
        necrosis_level=float(rng.uniform(0.25, 0.5)),
        oedema_level=float(rng.uniform(0.82, 0.97)),
    )


def mass_effect(spec: TumourSpec, centre: np.ndarray) -> MassEffect:
    """The push of a tumour on its surroundings (oedema swells too)."""
    radius = spec.radius * float(np.mean(spec.axes)) + 0.2 * spec.oedema
    return MassEffect(centre, radius, spec.mass, decay=radius * 0.8 + 0.4 * spec.oedema)


def _box(centre: np.ndarray, half: float) -> tuple[slice, slice, slice]:
    lo = np.maximum(np.floor(centre - half), 0).astype(int)
    hi = np.minimum(np.ceil(centre + half) + 1, GRID_SHAPE).astype(int)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def paint_tumour(
    image: np.ndarray,
    mask: np.ndarray,
    spec: TumourSpec,
    centre: np.ndarray,
    geometry: Geometry,
    anatomy: Anatomy,
    masses: list[MassEffect],
    gm_level: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Paint the tumour into ``image`` (relative units, in place); return its uint8 labels."""
    reach = spec.radius * max(spec.axes) * (1 + 3 * spec.irregularity) + 1.8 * spec.oedema + 4
    box = _box(centre, reach)
    axes = [np.arange(s.start, s.stop, dtype=np.float32) for s in box]
    lo = tuple(float(a[0]) for a in axes)
    hi = tuple(float(a[-1]) for a in axes)
    d = np.meshgrid(*(a - np.float32(c) for a, c in zip(axes, centre, strict=True)),
                    indexing="ij", sparse=True)
    rot = rotation(np.asarray(spec.angles)).T.astype(np.float32)
    p = [sum(rot[a, b] * d[b] for b in range(3)) / np.float32(spec.axes[a]) for a in range(3)]
    r = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)

    lobes = SmoothField(rng, lo, hi, max(0.8 * spec.radius, 3.0)).on_axes(*axes)[0]
    bumps = SmoothField(rng, lo, hi, max(0.3 * spec.radius, 2.0), channels=2).on_axes(*axes)
    oedema_noise = SmoothField(rng, lo, hi, 6.0).on_axes(*axes)[0]
    texture = SmoothField(rng, lo, hi, 1.5, channels=2).on_axes(*axes)
    patches = SmoothField(rng, lo, hi, max(0.4 * spec.radius, 3.0), channels=2).on_axes(*axes)

    # Multiplicative, so the centre is always tumour however large the perturbation.
    f = r / spec.radius * np.exp(spec.irregularity * (lobes + 0.35 * bumps[0]))
    # The rim is thick in places and thin in others; sometimes the necrosis breaks through.
    nec_edge = spec.necrosis + 0.2 * bumps[1]
    outside = (f - 1.0) * spec.radius  # mm beyond the core surface, roughly

    coords = geometry.template_coords(box, anatomy, masses)
    wm = warp(anatomy.wm, coords)
    tissue = warp(anatomy.tissue, coords)
    spread = spec.oedema * (0.2 + 0.8 * np.clip(wm / 0.7, 0, 1)) * (1 + 0.35 * oedema_noise)

    inside = mask[box]
    core = (f < 1.0) & inside
    necrotic = core & (f < nec_edge)
    oedema = (outside < spread) & ((tissue > 0.35) | (outside < 1.5)) & ~core & inside
    labels = np.zeros(f.shape, dtype=np.uint8)
    labels[oedema] = OEDEMA
    if spec.kind == "nonenhancing":
        labels[core] = NECROSIS
    else:
        labels[core] = ENHANCING
        labels[necrotic] = NECROSIS

    # Intensities with soft (1-3 mm) transitions, as partial volume gives in real scans.
    anat = image[box]
    w_core = smoothstep(0.5 + (1.0 - f) * spec.radius / 1.8)
    w_nec = smoothstep(0.5 + (nec_edge - f) * spec.radius / 2.0)
    w_oed = smoothstep(0.5 + (spread - outside) / 2.5) * np.clip(tissue / 0.35, 0, 1)
    oed_value = 0.4 * anat + 0.6 * gm_level * spec.oedema_level * (1 + 0.03 * texture[0])
    if spec.kind == "nonenhancing":
        core_value = spec.core_level * (1 + 0.06 * texture[0])
    else:
        # Enhancement varies along the rim (patches) and within it (texture).
        rim = spec.core_level * (1 + 0.15 * patches[0] + 0.08 * texture[1])
        necrosis = spec.necrosis_level * (1 + 0.2 * patches[1] + 0.08 * texture[0])
        core_value = rim + (necrosis - rim) * w_nec
    target = oed_value + (core_value - oed_value) * w_core
    weight = np.maximum(w_oed, w_core)
    image[box] = anat + (target - anat) * weight

    full = np.zeros(GRID_SHAPE, dtype=np.uint8)
    full[box] = labels
    return full
