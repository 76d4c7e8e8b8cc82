"""MetaImage and NRRD reader (SimpleITK), with checks ITK itself does not make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from bvae_viewer.io import messages
from bvae_viewer.io.assemble import Decoded
from bvae_viewer.io.checks import check_shape, check_voxel_sizes
from bvae_viewer.io.errors import CorruptVolumeError, NotAnImageError, TruncatedVolumeError
from bvae_viewer.io.orientation import LPS_TO_RAS, lps_affine
from bvae_viewer.io.rawsize import available_bytes, locate_raw_data

_BYTES_PER_VALUE = {
    sitk.sitkUInt8: 1,
    sitk.sitkInt8: 1,
    sitk.sitkUInt16: 2,
    sitk.sitkInt16: 2,
    sitk.sitkUInt32: 4,
    sitk.sitkInt32: 4,
    sitk.sitkUInt64: 8,
    sitk.sitkInt64: 8,
    sitk.sitkFloat32: 4,
    sitk.sitkFloat64: 8,
}


def read_itk(path: Path, format_name: str, raw_file: bool = True) -> Decoded:
    """Read one file with SimpleITK; sizes are checked before the voxels are read.

    ``raw_file``: the format keeps uncompressed voxels after a text header (MetaImage,
    NRRD), so the file size can be checked against the header.
    """
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        raise NotAnImageError(messages.unreadable_header(path), path) from None
    size = tuple(int(s) for s in reader.GetSize())
    if reader.GetNumberOfComponents() != 1 or reader.GetPixelID() not in _BYTES_PER_VALUE:
        raise NotAnImageError(messages.unsupported_voxels(path, "colour or multi-channel"), path)
    check_shape(path, size)
    check_voxel_sizes(path, tuple(reader.GetSpacing()[:3]))
    if raw_file:
        _check_raw_size(path, size, _BYTES_PER_VALUE[reader.GetPixelID()])
    try:
        image = reader.Execute()
    except RuntimeError:
        raise CorruptVolumeError(messages.reader_failed(path), path) from None
    if tuple(image.GetSize()) != size:
        raise CorruptVolumeError(messages.reader_failed(path), path)
    # ITK arrays are (z, y, x); reverse the axes to index them as (x, y, z) like the affine.
    data = sitk.GetArrayFromImage(image).reshape(size[:3][::-1]).transpose(2, 1, 0)
    affine = LPS_TO_RAS @ lps_affine(image.GetOrigin(), image.GetSpacing(), image.GetDirection())
    notes = [messages.note_squeezed(size)] if len(size) > 3 else []
    return Decoded(
        data=data,
        affine=affine,
        format=format_name,
        original_shape=size,
        notes=notes,
    )


def _check_raw_size(path: Path, size: tuple[int, ...], itemsize: int) -> None:
    """ITK versions differ in whether a short raw file is an error; check it here."""
    raw = locate_raw_data(path)
    if raw is None:
        return
    expected = int(np.prod(size, dtype=np.int64)) * itemsize
    available = available_bytes(raw)
    if available < expected:
        raise TruncatedVolumeError(messages.truncated(raw.file, expected, available), path)
