"""One synthetic subject: anatomy, optional tumour, scanner; a pure function of its seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bvae_viewer.data.synth.anatomies import MNI152, load_named_anatomy, training_anatomies
from bvae_viewer.data.synth.anatomy import SynthError
from bvae_viewer.data.synth.appearance import (
    Acquisition,
    Contrast,
    acquire,
    sample_acquisition,
    sample_contrast,
    template_intensity,
)
from bvae_viewer.data.synth.deform import (
    GRID_SHAPE,
    RAS_AFFINE,
    Geometry,
    MassEffect,
    sample_geometry,
    to_stored,
    warp,
)
from bvae_viewer.data.synth.tumour import (
    ENHANCING,
    NECROSIS,
    OEDEMA,
    TumourSpec,
    mass_effect,
    paint_tumour,
    sample_tumour,
)
from bvae_viewer.data.synth.variation import (
    CLASSIC,
    VARIETIES,
    WIDE,
    Factors,
    apply_factors,
    wide_acquisition,
    wide_contrast,
    wide_stream,
    wide_ventricle_push,
    widen_geometry,
)

# Larger or smaller ventricles (age, atrophy): a push around the lateral ventricles.
_VENTRICLE_MNI = np.array([0.0, -12.0, 16.0])


@dataclass(frozen=True)
class SynthCase:
    """A case in BraTS storage order (LPS-like, see deform.STORED_AFFINE)."""

    image: np.ndarray  # int16 (240, 240, 155)
    seg: np.ndarray  # uint8 labels {0, 1, 2, 4}
    info: dict


def _round(values: np.ndarray | float, digits: int = 3) -> list[float] | float:
    if np.ndim(values) == 0:
        return round(float(values), digits)
    return [round(float(v), digits) for v in np.ravel(values)]


def generate_case(
    seed: int,
    has_tumour: bool,
    tumour: TumourSpec | None = None,
    variety: str = CLASSIC,
    anatomy_name: str | None = None,
    factors: Factors | None = None,
) -> SynthCase:
    """Build one case; ``tumour`` fixes the tumour instead of drawing one.

    variety: classic (MNI152, the bundled model's training data) or wide (variation.py);
    anatomy_name: the head to start from (default: MNI152, or drawn among the installed
    training heads in the wide variety); factors: strengths fixed instead of drawn.
    """
    if variety not in VARIETIES:
        raise SynthError(f"Unknown variety {variety!r}: choose from {', '.join(VARIETIES)}.")
    rng = np.random.default_rng(seed)
    wide = wide_stream(seed) if variety == WIDE else None
    if anatomy_name is None:
        anatomy_name = MNI152 if wide is None else str(wide.choice(training_anatomies()))
    anatomy = load_named_anatomy(anatomy_name)
    geometry = sample_geometry(rng, anatomy)
    contrast = sample_contrast(rng)
    acq = sample_acquisition(rng)
    if wide is not None:
        geometry = widen_geometry(geometry, wide)
        contrast = wide_contrast(wide)
        acq = wide_acquisition(acq, wide)
    if factors is not None:
        geometry, acq = apply_factors(factors, geometry, acq)
    if has_tumour and tumour is None:
        tumour = sample_tumour(rng, anatomy)
    elif not has_tumour:
        tumour = None

    ventricle_site = _VENTRICLE_MNI - anatomy.mni_origin
    push = float(rng.uniform(-0.1, 0.3))
    if wide is not None:
        push = wide_ventricle_push(wide)
    masses = [MassEffect(geometry.forward(ventricle_site, anatomy), 14.0, push, decay=10.0)]
    centre = None
    if tumour is not None:
        centre = geometry.forward(np.asarray(tumour.site), anatomy)
        masses.append(mass_effect(tumour, centre))

    box = geometry.output_box(anatomy)
    coords = geometry.template_coords(box, anatomy, masses)
    image = np.zeros(GRID_SHAPE, dtype=np.float32)
    mask = np.zeros(GRID_SHAPE, dtype=bool)
    image[box] = warp(template_intensity(anatomy, contrast), coords)
    mask[box] = warp(anatomy.mask, coords) > 0.5
    del coords

    seg = np.zeros(GRID_SHAPE, dtype=np.uint8)
    if tumour is not None:
        seg = paint_tumour(image, mask, tumour, centre, geometry, anatomy, masses,
                           contrast.gm, rng)

    scan = acquire(image, box, acq, rng)
    scan[~mask] = 0.0
    pixels = np.clip(np.rint(scan), 0, np.iinfo(np.int16).max).astype(np.int16)
    info = _describe(geometry, contrast, acq, masses[0], tumour, centre, seg)
    if variety != CLASSIC or factors is not None or anatomy_name != MNI152:
        info["subject"].update(_describe_variety(variety, anatomy_name, geometry, contrast, acq))
    return SynthCase(to_stored(pixels), to_stored(seg), info)


def _describe(
    geometry: Geometry,
    contrast: Contrast,
    acq: Acquisition,
    ventricles: MassEffect,
    tumour: TumourSpec | None,
    centre: np.ndarray | None,
    seg: np.ndarray,
) -> dict:
    """What the manifest records about a case: enough to tell what was made and why."""
    subject = {
        "scale": _round(geometry.scale),
        "rotation_deg": _round(geometry.rotation_deg),
        "centre_voxel_ras": _round(geometry.centre_out, 1),
        "deformation_mm": _round(geometry.ffd_mm),
        "ventricle_push": _round(ventricles.strength),
        "contrast": {k: _round(v) for k, v in asdict(contrast).items()},
        "white_matter_units": _round(acq.wm_units, 1),
        "bias_amplitude": _round(acq.bias_amplitude),
        "noise_fraction": _round(acq.noise),
        "slice_thickness_mm": acq.slice_mm,
        "in_plane_blur_mm": _round(acq.blur_mm),
    }
    info: dict = {"has_tumour": tumour is not None, "subject": subject, "tumour": None}
    if tumour is not None and centre is not None:
        counts = np.bincount(seg.ravel(), minlength=ENHANCING + 1)
        ras_mm = RAS_AFFINE[:3, :3] @ centre + RAS_AFFINE[:3, 3]
        info["tumour"] = {
            "type": tumour.kind,
            "centre_mm_ras": _round(ras_mm, 1),
            "radius_mm": _round(tumour.radius, 2),
            "oedema_mm": _round(tumour.oedema, 2),
            "volume_ml": {
                "necrotic_1": counts[NECROSIS] / 1000.0,
                "oedema_2": counts[OEDEMA] / 1000.0,
                "enhancing_4": counts[ENHANCING] / 1000.0,
                "whole": int(counts[1:].sum()) / 1000.0,
            },
            "parameters": tumour.as_dict(),
        }
    return info


def _describe_variety(
    variety: str, anatomy_name: str, geometry: Geometry, contrast: Contrast, acq: Acquisition
) -> dict:
    """What the wide variety and fixed factors add to a case's manifest record."""
    return {
        "variety": variety,
        "anatomy": anatomy_name,
        "regional_mm": _round(geometry.regional_mm),
        "asymmetry": _round(geometry.asymmetry),
        "petalia_mm": _round(geometry.petalia_mm),
        "cortical_thickness_shift": _round(contrast.thickness),
        "bias_peak": None if acq.bias_peak is None else _round(acq.bias_peak),
        "gamma": _round(acq.gamma),
    }
