"""The typed volume that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PatientIdentity:
    """Identifying header fields, kept apart so nothing exports them by accident."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    accession_number: str = ""
    institution: str = ""
    study_date: str = ""

    def is_empty(self) -> bool:
        return not any(vars(self).values())


@dataclass(frozen=True)
class VolumeMetadata:
    """De-identified summary of where a volume came from (safe to show and export)."""

    format: str  # "nifti", "dicom", "mha", "nrrd", ...
    modality: str = ""
    series_description: str = ""
    original_shape: tuple[int, ...] = ()
    original_orientation: str = ""  # axis codes before reorientation, e.g. "LAS"
    notes: tuple[str, ...] = ()  # e.g. "3 series found; loaded the largest (155 slices)"
    # What the window's header shows and the contrast check reads (DICOM; "" or 0: unknown).
    study_description: str = ""
    sequence: str = ""  # ProtocolName, SequenceName, ScanningSequence: what the scanner ran
    contrast_agent: str = ""  # ContrastBolusAgent: set on post-contrast series
    slice_thickness: float = 0.0  # mm, as acquired (DICOM SliceThickness)
    repetition_time: float = 0.0  # ms
    echo_time: float = 0.0  # ms
    # DICOM PatientSex ("F", "M", "O"). Not an identifier on its own, and kept out of
    # PatientIdentity on purpose: every identity field is redacted from free text, and a
    # one-letter value would blank out every "F" or "M". No export writes it.
    patient_sex: str = ""


@dataclass(frozen=True)
class Volume:
    """A 3D scalar volume in RAS+ canonical voxel order.

    ``data[i, j, k]``: i runs left->right, j posterior->anterior, k inferior->superior,
    so ``data[:, :, k]`` is an axial slice.
    """

    data: np.ndarray  # float32, shape (X, Y, Z)
    spacing: tuple[float, float, float]  # mm along each data axis
    affine: np.ndarray  # 4x4, voxel index -> RAS mm
    metadata: VolumeMetadata
    source: Path
    identity: PatientIdentity = field(default_factory=PatientIdentity)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def n_axial(self) -> int:
        return int(self.data.shape[2])
