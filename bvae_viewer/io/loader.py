"""load_volume: pick the reader for a path, then check and reorient what it returns."""

from __future__ import annotations

from pathlib import Path

from bvae_viewer.io import messages
from bvae_viewer.io.assemble import Decoded, assemble
from bvae_viewer.io.dicom import read_dicom
from bvae_viewer.io.dicom_scan import is_dicom_file
from bvae_viewer.io.errors import EmptyFileError, NotAnImageError, VolumeNotFoundError
from bvae_viewer.io.gzipped import GZIP_MAGIC
from bvae_viewer.io.itk import read_itk
from bvae_viewer.io.nifti import read_nifti
from bvae_viewer.io.volume import Volume

_ITK_SUFFIXES = {".mha": "mha", ".mhd": "mha", ".nrrd": "nrrd", ".nhdr": "nrrd"}
_DICOM_SUFFIXES = {".dcm", ".ima", ".dicom"}


def load_volume(path: str | Path, series: str | None = None) -> Volume:
    """Load a 3D scan as float32 voxels in RAS+ order, or raise a VolumeError subclass.

    ``path``: a .nii/.nii.gz, .mha/.mhd, .nrrd/.nhdr file, a DICOM series folder or one
    DICOM file of a series. ``series``: the SeriesInstanceUID to load from a DICOM folder
    (default: the series with the most slices); ignored for other formats.
    """
    path = Path(path).expanduser()
    return assemble(path, _read(path, series))


def _read(path: Path, series: str | None) -> Decoded:
    if path.is_dir():
        return read_dicom(path, series)
    if not path.is_file():
        raise VolumeNotFoundError(messages.not_found(path), path)
    if path.stat().st_size == 0:
        raise EmptyFileError(messages.empty_file(path), path)
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return read_nifti(path)
    if path.suffix.lower() in _ITK_SUFFIXES:
        return read_itk(path, _ITK_SUFFIXES[path.suffix.lower()])
    if path.suffix.lower() in _DICOM_SUFFIXES or is_dicom_file(path):
        return read_dicom(path, series)
    return _sniff(path, series)


def _sniff(path: Path, series: str | None) -> Decoded:
    """Files without a telling name: recognise the format from their first bytes."""
    with path.open("rb") as stream:
        head = stream.read(352)
    if head.startswith(b"NRRD"):
        return read_itk(path, "nrrd")
    if head.lstrip().startswith((b"ObjectType", b"NDims")):
        return read_itk(path, "mha")
    if head[:2] == GZIP_MAGIC or head[344:348] == b"n+1\x00" or head[4:8] == b"n+2\x00":
        return read_nifti(path)
    if not path.suffix:  # DICOM files often have no extension and sometimes no preamble
        try:
            return read_dicom(path, series)
        except NotAnImageError:
            pass
    raise NotAnImageError(messages.unknown_format(path), path)
