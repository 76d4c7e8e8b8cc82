"""Several plausible "grader" masks of one tumour: the inter-rater spread of a segmentation.

Real BraTS cases were annotated once (then checked by a neuroradiologist); inter-rater
studies (Menze et al. 2015) put the whole-tumour Dice between two raters at about 0.85-0.9,
with most disagreement at the faint outer edge of the oedema and little at the enhancing rim.
Each grader here redraws the outline of the given segmentation as a level set:

- the whole-tumour outline moves by a smooth random field (elastic shifts of a few mm, over
  about a centimetre), plus one offset per grader (a mild erosion or dilation, +-1 mm);
- the tumour core (necrosis 1 and enhancing 4) moves less: the enhancing rim is crisp on
  T1ce, so raters agree on it more;
- now and then (``OEDEMA_CUT_P``) a grader stops the oedema closer to the core (a
  conservative reading of its extent).

The output is whole-tumour masks (labels 1, 2, 4 together), binary: graders disagree per
sub-region in how they are drawn, but only the union is returned, because the evaluation's
segmentation target is the whole tumour. Where every grader agrees (far from the outline,
deep inside the tumour) the variance across graders is exactly zero.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bvae_viewer.data.synth.fields import SmoothField

GRADERS = 4
# Standard deviation (mm) of the smooth outline shift, and its correlation length (mm).
OUTLINE_SHIFT_MM = 1.2
CORE_SHIFT_MM = 0.7
SHIFT_LENGTH_MM = 8.0
MAX_SHIFT_MM = 4.0  # no grader moves an outline further than this
GRADER_OFFSET_MM = 0.75  # per-grader erosion (-) or dilation (+), uniform in +-this
OEDEMA_CUT_P = 0.25  # chance that a grader draws the oedema short of its full extent
OEDEMA_KEEP = (0.6, 0.9)  # ... keeping oedema within this fraction of its reach from the core
CORE_LABELS = (1, 4)


def _signed_distance(mask: np.ndarray, spacing: float) -> np.ndarray:
    """Distance (mm) to the mask's outline: negative inside, positive outside."""
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    return (outside - inside).astype(np.float32)


def _box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """The mask's bounding box grown by ``margin`` voxels (clipped to the array)."""
    where = np.nonzero(mask)
    return tuple(
        slice(max(0, int(w.min()) - margin), min(n, int(w.max()) + margin + 1))
        for w, n in zip(where, mask.shape, strict=True)
    )


def _shift_fields(
    rng: np.random.Generator, shape: tuple[int, ...], spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two smooth unit-variance fields over the box (outline and core), in mm coordinates.

    Separable Gaussian bases (fields.SmoothField): smoothing white noise over a large
    tumour's box took seconds per field.
    """
    axes = [np.arange(n, dtype=np.float64) * spacing for n in shape]
    axes += [np.zeros(1)] * (3 - len(shape))  # a 2D seg is one slice of a 3D field
    hi = tuple(float(a[-1]) for a in axes)
    field = SmoothField(rng, (0.0, 0.0, 0.0), hi, SHIFT_LENGTH_MM, channels=2)
    values = field.on_axes(*axes).reshape(2, *shape)
    return values[0], values[1]


def _one_grader(
    rng: np.random.Generator, whole_sd: np.ndarray, core_sd: np.ndarray, spacing: float
) -> np.ndarray:
    # Positive shift grows the region: the level set {sd < shift}.
    offset = rng.uniform(-GRADER_OFFSET_MM, GRADER_OFFSET_MM)
    outline_field, core_field = _shift_fields(rng, whole_sd.shape, spacing)
    outline = OUTLINE_SHIFT_MM * outline_field + offset
    core = CORE_SHIFT_MM * core_field + 0.5 * offset
    outline = np.clip(outline, -MAX_SHIFT_MM, MAX_SHIFT_MM)
    core = np.clip(core, -MAX_SHIFT_MM, MAX_SHIFT_MM)
    whole = whole_sd < outline
    core_mask = core_sd < core
    if rng.random() < OEDEMA_CUT_P and np.isfinite(core_sd).any():
        # Oedema reach: how far the whole tumour extends beyond the core.
        reach = float(np.max(np.where(whole, core_sd, -np.inf)))
        if reach > 0:
            keep = rng.uniform(*OEDEMA_KEEP) * reach
            whole &= core_sd < max(keep, MAX_SHIFT_MM)
    return whole | core_mask


def grader_masks(
    seg: np.ndarray, seed: int, n: int = GRADERS, spacing_mm: float = 1.0
) -> np.ndarray:
    """``n`` whole-tumour masks of ``seg`` (2D or 3D labels), (n, *seg.shape) uint8 in {0, 1}.

    A pure function of (seg, seed, n, spacing_mm). ``spacing_mm``: voxel size, so the
    perturbations keep their size in mm on any grid. An empty seg gives empty masks.
    """
    if n < 1:
        raise ValueError("At least one grader is needed.")
    seg = np.asarray(seg)
    out = np.zeros((n, *seg.shape), dtype=np.uint8)
    whole = seg > 0
    if not whole.any():
        return out
    # Work in the tumour's box only: outlines move at most MAX_SHIFT_MM, and a cut oedema
    # only shrinks.
    margin = int(np.ceil(MAX_SHIFT_MM / spacing_mm)) + 1
    box = _box(whole, margin)
    whole_box = whole[box]
    core_box = np.isin(seg[box], CORE_LABELS)
    whole_sd = _signed_distance(whole_box, spacing_mm)
    core_sd = _signed_distance(core_box, spacing_mm)
    streams = np.random.SeedSequence(entropy=int(seed), spawn_key=(0x6A0E,)).spawn(n)
    for g, stream in enumerate(streams):
        out[(g, *box)] = _one_grader(np.random.default_rng(stream), whole_sd, core_sd, spacing_mm)
    return out


def grader_variance(masks: np.ndarray) -> np.ndarray:
    """Per-voxel variance across graders (axis 0): the supervised aleatoric target.

    Population variance p (1 - p) of the graders' votes: exactly 0 where they all agree.
    """
    p = np.asarray(masks, dtype=np.float32).mean(axis=0)
    return p * (1.0 - p)
