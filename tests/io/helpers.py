"""Small DICOM series written in code with pydicom, and a voxel<->world helper."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

PATIENT = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-0042",
    "PatientBirthDate": "19700101",
    "AccessionNumber": "ACC-7",
    "InstitutionName": "General Hospital",
    "StudyDate": "20240312",
}
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # rows run to the patient's left, columns to the back


def slice_positions(
    n: int, step: float, origin=(-20.0, -30.0, 10.0), orientation=AXIAL
) -> list[np.ndarray]:
    """ImagePositionPatient of n evenly spaced slices along the slice normal."""
    normal = np.cross(orientation[:3], orientation[3:])
    return [np.asarray(origin) + k * step * normal for k in range(n)]


def _slice(pixels, position, orientation, spacing, series_uid, description, number, study_uid):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesDescription = description
    ds.Modality = "MR"
    for key, value in PATIENT.items():
        setattr(ds, key, value)
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = list(orientation)
    ds.PixelSpacing = list(spacing)
    ds.SliceThickness = 2.0
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    return ds


def write_series(
    folder: Path,
    positions: Sequence[np.ndarray],
    rows: int = 12,
    columns: int = 16,
    orientation: Sequence[float] = AXIAL,
    spacing: tuple[float, float] = (1.5, 1.0),
    description: str = "T1 post",
    file_order: Sequence[int] | None = None,
    prefix: str = "IM",
    seed: int = 0,
) -> tuple[np.ndarray, str]:
    """Write a series; returns (pixels as (slice, row, column), SeriesInstanceUID).

    Slice k has ImagePositionPatient ``positions[k]``; files are named in ``file_order``
    (default: slice order), so a shuffled order tests sorting by position.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 3000, (len(positions), rows, columns))
    series_uid, study_uid = generate_uid(), generate_uid()
    order = range(len(positions)) if file_order is None else file_order
    for name_index, k in enumerate(order):
        ds = _slice(
            pixels[k], positions[k], orientation, spacing, series_uid, description, k + 1, study_uid
        )
        ds.save_as(folder / f"{prefix}{name_index:04d}.dcm", enforce_file_format=True)
    return pixels, series_uid


def index_of(affine: np.ndarray, world: np.ndarray) -> tuple[int, ...]:
    """The voxel index of a world position under an affine (checked to be whole)."""
    index = (np.linalg.inv(affine) @ np.append(world, 1.0))[:3]
    assert np.allclose(index, np.rint(index), atol=1e-4), index
    return tuple(int(i) for i in np.rint(index))
