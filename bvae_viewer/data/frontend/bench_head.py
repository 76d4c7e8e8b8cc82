"""A head with skull for timing the front end: the shipped template on a clinical 1 mm grid."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from bvae_viewer.data.frontend.itk_bridge import from_sitk, voxel_to_ras
from bvae_viewer.data.frontend.prepare import prepare_input
from bvae_viewer.data.frontend.template import load_template
from bvae_viewer.io.volume import Volume, VolumeMetadata

BENCH_SPACING_MM = 1.0


def bench_head(spacing_mm: float = BENCH_SPACING_MM) -> Volume:
    """Colin27 with skull (stored at 2 mm) resampled to spacing_mm: 180x216x180 at 1 mm."""
    head = load_template().head
    size = [round(n * s / spacing_mm) for n, s in zip(head.GetSize(), head.GetSpacing(),
                                                     strict=True)]
    fine = sitk.Resample(head, size, sitk.Transform(), sitk.sitkBSpline, head.GetOrigin(),
                         [spacing_mm] * 3, head.GetDirection(), 0.0, sitk.sitkFloat32)
    return Volume(
        data=np.maximum(from_sitk(fine), 0.0), spacing=(spacing_mm,) * 3,
        affine=voxel_to_ras(fine), metadata=VolumeMetadata(format="bench"),
        source=Path("colin27"),
    )


def time_front_end() -> dict[str, object]:
    """Seconds of each front-end step on the bench head (for `bvae-viewer bench`)."""
    volume = bench_head()
    start = time.perf_counter()
    prepared = prepare_input(volume, "always")
    return {
        "frontend_volume": f"Colin27 with skull, {volume.shape} at {BENCH_SPACING_MM:g} mm",
        "frontend_seconds": round(time.perf_counter() - start, 2),
        "frontend_steps_seconds": {s.name: round(s.seconds, 2) for s in prepared.steps},
    }
