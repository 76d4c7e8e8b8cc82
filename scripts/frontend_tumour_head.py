"""A real head with an inserted tumour, resliced to thick axial slices (issue 17's check).

Paints a ring-enhancing tumour (bright irregular rim, dark necrotic core, oedema) into a
head with skull, then averages the 1 mm slices into thick axial slabs as a 2D acquisition
does. Writes HEAD and the tumour's labels on the same thick grid.

    python scripts/frontend_tumour_head.py ch2.nii.gz OUT_DIR --slice-mm 6.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage


def paint(data: np.ndarray, affine: np.ndarray, centre_mm: np.ndarray, radius: float,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The head with a tumour at centre_mm (scanner mm); its labels (1 core, 2 oedema, 4 rim)."""
    rng = np.random.default_rng(seed)
    idx = np.indices(data.shape).reshape(3, -1).T
    mm = (idx @ affine[:3, :3].T + affine[:3, 3]).reshape(*data.shape, 3)
    d = np.linalg.norm(mm - centre_mm, axis=-1)
    lumpy = ndimage.gaussian_filter(rng.standard_normal(data.shape), 3) * 8
    r = d * np.exp(0.25 * lumpy)
    brain = data > np.percentile(data[data > 0], 60)
    wm = float(np.percentile(data[brain], 75))
    labels = np.zeros(data.shape, np.uint8)
    labels[(r < radius * 1.9) & brain] = 2
    labels[r < radius] = 4
    labels[r < radius * 0.6] = 1
    out = data.astype(np.float32).copy()
    out[labels == 2] *= 0.85
    out[labels == 4] = wm * (1.6 + 0.1 * rng.standard_normal((labels == 4).sum()))
    out[labels == 1] = wm * 0.35
    return ndimage.gaussian_filter(out, 0.7) * (data > 0) + out * (data <= 0), labels


def reslice(data: np.ndarray, affine: np.ndarray, slice_mm: float, order: int):
    """Average 1 mm axial slices into slabs of slice_mm (labels: the most common nonzero)."""
    step = slice_mm / abs(affine[2, 2])
    n = int(data.shape[2] // step)
    slabs = []
    for k in range(n):
        lo, hi = round(k * step), round((k + 1) * step)
        part = data[:, :, lo:hi]
        slabs.append(part.max(axis=2) if order == 0 else part.mean(axis=2))
    out_affine = affine.copy()
    out_affine[:3, 2] = affine[:3, 2] * step
    out_affine[:3, 3] = affine[:3, 3] + affine[:3, 2] * (step - 1) / 2
    return np.stack(slabs, axis=2), out_affine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("head", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--slice-mm", type=float, default=6.5)
    parser.add_argument("--centre", type=float, nargs=3, default=(28.0, -12.0, 22.0))
    parser.add_argument("--radius", type=float, default=11.0)
    args = parser.parse_args()
    image = nib.as_closest_canonical(nib.load(args.head))
    data = np.asarray(image.dataobj, dtype=np.float32)
    head, labels = paint(data, image.affine, np.asarray(args.centre), args.radius)
    thick, affine = reslice(head, image.affine, args.slice_mm, order=1)
    thick_labels, _ = reslice(labels, image.affine, args.slice_mm, order=0)
    args.out.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(thick.astype(np.float32), affine), args.out / "head_tumour.nii.gz")
    nib.save(nib.Nifti1Image(thick_labels.astype(np.uint8), affine), args.out / "labels.nii.gz")
    rows = sorted({int(k) for k in np.argwhere(thick_labels > 0)[:, 2]})
    print(f"{thick.shape} at {args.slice_mm} mm; tumour on input slices {rows}")


if __name__ == "__main__":
    main()
