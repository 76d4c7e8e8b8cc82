"""Which MR contrast the input is, and whether it looks like what the model was trained on.

The model learnt post-contrast T1 (T1ce). A FLAIR, T2 or diffusion series reconstructs badly
everywhere (or, worse, smoothly) and its maps mean nothing, so the window says so in its
header. Two independent witnesses:

- the header: the series description and sequence names (DICOM), or a BraTS-style file name
  (``*_flair.nii.gz``), read for the usual words (FLAIR, T2, DWI, ADC, SWI...);
- the image: on T1 the deep white matter is the brightest tissue and fluid (CSF) the darkest,
  so the brain's deep core is brighter than its surface band (sulcal CSF and cortex). On
  T2-weighted images fluid is the brightest thing and the order turns over. The ratio of the
  two medians, measured on the larger axial sections, tells the two apart without a tissue
  segmentation (it does not tell T1 from FLAIR, whose CSF is dark too: the header does).

Plain numpy and scipy: tested on volumes built in code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.io.volume import VolumeMetadata

TRAINED_ON = "T1ce"
UNKNOWN = ""
# Deep core / surface band median: above this the order is T1's; below FLUID_BRIGHT, fluid
# is brighter than white matter (T2-like). Measured: the demo 1.24 and the test phantom 1.5
# (T1); the same heads remapped to T2 levels 0.8, to FLAIR levels 1.03 (no verdict).
T1_ORDER = 1.1
FLUID_BRIGHT = 0.95
SURFACE_MM = 5.0  # the band under the brain's edge: sulcal CSF and cortex
DEEP_SHARE = 0.5  # the core: deeper than this share of the section's largest depth
LARGE_SECTION = 0.5  # sections with at least this share of the largest brain section

# Names in the order they are tried: the more specific first ("T2 FLAIR" is a FLAIR,
# "DWI ADC" an ADC map). "T1 FLAIR" is T1-weighted, hence T1 is tried before FLAIR only
# when "t1" is written.
_NAMES: tuple[tuple[str, str], ...] = (
    ("ADC", r"\badc\b|apparent diff"),
    ("DWI", r"\bdwi\b|diffusion|\btrace\b|\bb ?1000\b|ep2d diff|\bdti\b"),
    ("SWI", r"\bswi\b|\bswan\b|suscept"),
    ("T2*", r"t2\*|\bt2 ?star\b|\bhemo"),
    ("FLAIR", r"flair|\btirm\b|dark ?fluid"),
    ("PD", r"\bpd\b|\bpdw\b|proton dens"),
    ("T2", r"\bt2w?\b|\bt2 ?weighted"),
    ("T1", r"\bt1\w*|mprage|mp rage|\bspgr\b|\bbravo\b|\btfl\b|\bvibe\b|\bflash\b"),
)
_T1 = re.compile(r"\bt1\w*")
_POST = re.compile(r"\bpost\b|\+ ?c\b|\bc\+|\bgd\b|\bgad|contrast|\bce\b|\bt1ce\b|\bt1c\b|"
                   r"\bt1gd\b|\bkm\b|\bmdc\b|enhanc")
_PRE = re.compile(r"\bpre\b|\bnative?\b|\bw ?o\b|without|\bplain\b|\bnon ?contrast")
_OTHERS = frozenset({"ADC", "DWI", "SWI", "T2*", "FLAIR", "PD", "T2"})


@dataclass(frozen=True)
class TissueOrder:
    """Median intensity of the brain's deep core and of its surface band, and their ratio."""

    core: float
    surface: float

    @property
    def ratio(self) -> float:
        return self.core / self.surface if self.surface > 0 else float("inf")

    @property
    def fluid_bright(self) -> bool:
        """Fluid brighter than deep white matter: not a T1 image."""
        return self.ratio < FLUID_BRIGHT

    @property
    def t1_like(self) -> bool:
        return self.ratio >= T1_ORDER


@dataclass(frozen=True)
class ContrastCheck:
    """What the input is called (``name``, "" when nobody says) and a warning when it does
    not look like the model's training contrast ("" when nothing speaks against it)."""

    name: str
    source: str  # where the name was read: "series description", "file name", ...
    order: TissueOrder | None
    warning: str = ""

    @property
    def label(self) -> str:
        """The contrast as a panel title names it: "FLAIR", "T1ce", or "input"."""
        return self.name or "input"


def _words(text: str) -> str:
    """Lower case with separators as spaces: "t2_tse_tra" reads as "t2 tse tra"."""
    return re.sub(r"[^a-z0-9+*]+", " ", text.lower()).strip()


def contrast_from_text(text: str, contrast_agent: str = "") -> str:
    """The contrast a series description, sequence or file name names ("" when none)."""
    words = _words(text)
    if not words:
        return UNKNOWN
    for name, pattern in _NAMES:
        if name == "FLAIR" and _T1.search(words):
            continue  # "T1 FLAIR": a T1-weighted sequence
        if re.search(pattern, words):
            if name != "T1":
                return name
            post = bool(contrast_agent.strip()) or bool(_POST.search(words))
            return "T1ce" if post and not _PRE.search(words) else "T1"
    return UNKNOWN


def pre_contrast(text: str) -> bool:
    """The description says the series was taken before (without) contrast."""
    return bool(_PRE.search(_words(text)))


def tissue_order(stack: SliceStack) -> TissueOrder | None:
    """Deep core against surface band of the larger axial brain sections (None: too little
    brain to say)."""
    if len(stack) == 0 or float(stack.brain_fraction.max()) <= 0:
        return None
    large = np.flatnonzero(stack.brain_fraction >= LARGE_SECTION * stack.brain_fraction.max())
    core, surface = [], []
    for position in large:
        mask = stack.masks[position]
        depth = ndimage.distance_transform_edt(mask) * stack.pixel_mm
        image = stack.images[position]
        band = mask & (depth <= max(SURFACE_MM, stack.pixel_mm))
        deep = depth >= DEEP_SHARE * depth.max()
        surface.append(image[band & ~deep])
        core.append(image[deep])
    core_values, surface_values = np.concatenate(core), np.concatenate(surface)
    if core_values.size < 20 or surface_values.size < 20:
        return None
    return TissueOrder(float(np.median(core_values)), float(np.median(surface_values)))


def check_contrast(
    metadata: VolumeMetadata, file_name: str, stack: SliceStack | None
) -> ContrastCheck:
    """The input's contrast, from its header (or file name) and its image, with a warning
    when either says it is not the model's T1 post-contrast."""
    name, source, said = UNKNOWN, "", ""
    for text, where in (
        (metadata.series_description, "series description"),
        (metadata.sequence, "sequence name"),
        (file_name, "file name"),
    ):
        name = contrast_from_text(text, metadata.contrast_agent)
        if name:
            source, said = where, text
            break
    order = tissue_order(stack) if stack is not None else None
    warning = ""
    if name in _OTHERS:
        warning = (
            f"This series looks like {name} (its {source} says so), not the T1 post-contrast "
            "the model was trained on: its maps and scores do not mean what they would."
        )
    elif name == "T1" and pre_contrast(said):
        warning = (
            f"This series looks like T1 before contrast (its {source} says so); the model was "
            "trained on post-contrast T1, so enhancement cannot show."
        )
    elif order is not None and order.fluid_bright:
        warning = (
            "This image does not look like T1: the brain's surface (fluid and cortex) is "
            f"brighter than its deep white matter ({order.ratio:.2f}x), as on T2-weighted "
            "images. The model was trained on T1 post-contrast."
        )
    return ContrastCheck(name, source, order, warning)
