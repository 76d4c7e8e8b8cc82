"""Turn a reader's raw result into the checked, RAS-canonical float32 Volume."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bvae_viewer.io.checks import check_affine, check_finite
from bvae_viewer.io.orientation import orientation_code, spacing_of, to_canonical
from bvae_viewer.io.volume import PatientIdentity, Volume, VolumeMetadata


@dataclass
class Decoded:
    """What a format reader hands back: voxels in file order and their voxel->RAS matrix."""

    data: np.ndarray  # 3D, any numeric dtype, axes in the order the affine describes
    affine: np.ndarray  # 4x4 voxel index -> RAS mm
    format: str
    modality: str = ""
    series_description: str = ""
    original_shape: tuple[int, ...] = ()  # as stored, before squeezing
    notes: list[str] = field(default_factory=list)
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    series: VolumeMetadata | None = None  # a DICOM series' header fields (dicom_scan)


def assemble(path: Path, decoded: Decoded) -> Volume:
    """Check geometry and values, reorient to RAS+ and convert to float32."""
    check_affine(path, decoded.affine)
    data, affine = to_canonical(decoded.data, decoded.affine)
    voxels = np.ascontiguousarray(data, dtype=np.float32)
    # Checked after the cast: float64 values beyond float32's range become infinite here.
    check_finite(path, voxels)
    metadata = replace(
        decoded.series or VolumeMetadata(format=decoded.format),
        format=decoded.format,
        modality=decoded.modality,
        series_description=decoded.series_description,
        original_shape=tuple(decoded.original_shape or decoded.data.shape),
        original_orientation=orientation_code(decoded.affine),
        notes=tuple(decoded.notes),
    )
    return Volume(
        data=voxels,
        spacing=spacing_of(affine),
        affine=affine,
        metadata=metadata,
        source=path,
        identity=decoded.identity,
    )
