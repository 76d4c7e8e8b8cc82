"""The brain-extraction template: Colin27 with skull and its brain mask, in MNI space.

Shipped in resources/frontend/ (the head from Debian's mricron-data, BSD-3-clause; the mask
is ROBEX's extraction of it, BSD; built by scripts/make_frontend_template.py). Colin27 sits
in MNI space, as does the template the model's training subjects were built from, so one
registration gives both the brain mask and the way to the model's space.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from bvae_viewer.data.frontend.itk_bridge import to_sitk
from bvae_viewer.paths import resources_dir

HEAD_FILE = "colin27_head_2mm.nii.gz"
BRAIN_FILE = "colin27_brain_2mm.nii.gz"


class TemplateMissingError(Exception):
    """The template files are not installed (a broken install); the message says which."""


@dataclass(frozen=True)
class Template:
    head: sitk.Image  # T1 with skull, float32
    brain: sitk.Image  # brain fraction in [0, 1], float32


def _read(name: str) -> sitk.Image:
    path = resources_dir() / "frontend" / name
    if not path.is_file():
        raise TemplateMissingError(
            f"The preprocessing template {name} is missing from {path.parent}; reinstall "
            "bvae-viewer, or analyse with --preprocess never."
        )
    image = nib.as_closest_canonical(nib.load(path))
    return to_sitk(np.asarray(image.dataobj, dtype=np.float32), image.affine)


@lru_cache(maxsize=1)
def load_template() -> Template:
    """Read once per process."""
    return Template(head=_read(HEAD_FILE), brain=_read(BRAIN_FILE) / 255.0)
