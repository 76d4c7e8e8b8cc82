"""Errors raised for volumes that cannot be opened; str() is one sentence from messages.py."""

from __future__ import annotations

from pathlib import Path


class VolumeError(Exception):
    """A volume could not be opened; the message is written for a clinician."""

    def __init__(self, message: str, path: Path | str) -> None:
        super().__init__(message)
        self.path = Path(path)


class VolumeNotFoundError(VolumeError):
    """The file or folder does not exist."""


class NotAnImageError(VolumeError):
    """Unknown format, garbage bytes or an unreadable header."""


class EmptyFileError(NotAnImageError):
    """The file has no bytes at all."""


class CorruptVolumeError(VolumeError):
    """The data is damaged (checksum failure, undecodable pixels)."""


class TruncatedVolumeError(CorruptVolumeError):
    """The file holds less data than its header promises."""


class GeometryError(VolumeError):
    """Voxel size, orientation or position are missing, non-finite or singular."""


class NonFiniteVoxelsError(VolumeError):
    """Some voxels are NaN or infinite."""


class NotThreeDimensionalError(VolumeError):
    """A 2D image, or several volumes (time series, channels) in one file."""


class VolumeSizeError(VolumeError):
    """Dimensions outside the sane limits of limits.py."""


class NoDicomError(VolumeError):
    """A folder with no DICOM images in it."""


class SeriesNotFoundError(VolumeError):
    """The requested SeriesInstanceUID is not in the folder."""


class IrregularSeriesError(VolumeError):
    """DICOM slices that do not stack into one regular volume."""


class SliceGapError(IrregularSeriesError):
    """One or more slices are missing from the series."""


class DuplicateSliceError(IrregularSeriesError):
    """Two slices share a position."""


class VaryingSpacingError(IrregularSeriesError):
    """The distance between neighbouring slices varies."""
