"""Load and validate 3D scans (NIfTI, MetaImage, NRRD, DICOM) into RAS+ float32 Volumes."""

from bvae_viewer.io.errors import (
    CorruptVolumeError,
    DuplicateSliceError,
    EmptyFileError,
    GeometryError,
    IrregularSeriesError,
    NoDicomError,
    NonFiniteVoxelsError,
    NotAnImageError,
    NotThreeDimensionalError,
    SeriesNotFoundError,
    SliceGapError,
    TruncatedVolumeError,
    VaryingSpacingError,
    VolumeError,
    VolumeNotFoundError,
    VolumeSizeError,
)
from bvae_viewer.io.loader import load_volume
from bvae_viewer.io.volume import PatientIdentity, Volume, VolumeMetadata

__all__ = [
    "CorruptVolumeError",
    "DuplicateSliceError",
    "EmptyFileError",
    "GeometryError",
    "IrregularSeriesError",
    "NoDicomError",
    "NonFiniteVoxelsError",
    "NotAnImageError",
    "NotThreeDimensionalError",
    "PatientIdentity",
    "SeriesNotFoundError",
    "SliceGapError",
    "TruncatedVolumeError",
    "VaryingSpacingError",
    "Volume",
    "VolumeError",
    "VolumeMetadata",
    "VolumeNotFoundError",
    "VolumeSizeError",
    "load_volume",
]
