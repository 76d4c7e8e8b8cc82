"""NIfTI-1/2 reader (.nii, .nii.gz): header checked before the voxels are unpacked."""

from __future__ import annotations

import io
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from bvae_viewer.io import messages
from bvae_viewer.io.assemble import Decoded
from bvae_viewer.io.checks import check_shape, check_voxel_sizes
from bvae_viewer.io.errors import NotAnImageError, TruncatedVolumeError
from bvae_viewer.io.gzipped import GZIP_MAGIC, gunzip_verified

_HEAD_SIZE = 544  # a NIfTI-2 header plus its 4-byte extension flag; NIfTI-1 needs 352
# sizeof_hdr (the first int32, either byte order) tells NIfTI-1 from NIfTI-2
_KINDS = {348: nib.Nifti1Image, 540: nib.Nifti2Image}


def read_nifti(path: Path) -> Decoded:
    """Read a .nii or .nii.gz file (gzip detected from its bytes, not its name)."""
    with path.open("rb") as stream:
        head = stream.read(_HEAD_SIZE)
    if head[:2] == GZIP_MAGIC:
        expected: list[int] = []
        raw = gunzip_verified(
            path, path.read_bytes(), _HEAD_SIZE, lambda h: expected.append(_check(path, h))
        )
        _require_bytes(path, expected[0], len(raw))
    else:
        _require_bytes(path, _check(path, head), path.stat().st_size)
        raw = path.read_bytes()
    return _decode(path, raw)


def _require_bytes(path: Path, expected: int, available: int) -> None:
    if available < expected:
        raise TruncatedVolumeError(messages.truncated(path, expected, available), path)


def _image_class(path: Path, head: bytes) -> type[nib.Nifti1Image]:
    if len(head) < 4:
        raise TruncatedVolumeError(messages.truncated_header(path), path)
    for order in ("<", ">"):
        size = int(np.frombuffer(head[:4], dtype=f"{order}i4")[0])
        if size in _KINDS:
            if len(head) < size:
                raise TruncatedVolumeError(messages.truncated_header(path), path)
            return _KINDS[size]
    raise NotAnImageError(messages.unreadable_header(path), path)


def _check(path: Path, head: bytes) -> int:
    """Validate dimensions and voxel sizes; return the byte count the header implies."""
    header_class = _image_class(path, head).header_class
    try:
        # check=False: nibabel would otherwise silently replace negative pixdims by abs().
        header = header_class.from_fileobj(io.BytesIO(head), check=False)
        shape = header.get_data_shape()
        itemsize = header.get_data_dtype().itemsize
    except (HeaderDataError, ValueError, KeyError):
        raise NotAnImageError(messages.unreadable_header(path), path) from None
    check_shape(path, shape)
    check_voxel_sizes(path, tuple(float(v) for v in header["pixdim"][1:4]))
    offset = max(int(header.get_data_offset()), header_class.single_vox_offset)
    return offset + int(np.prod(shape, dtype=np.int64)) * itemsize


def _decode(path: Path, raw: bytes) -> Decoded:
    try:
        image = _image_class(path, raw).from_bytes(raw)
        dtype = image.get_data_dtype()
        if dtype.fields is not None or np.issubdtype(dtype, np.complexfloating):
            kind = "complex" if dtype.fields is None else "colour (RGB)"
            raise NotAnImageError(messages.unsupported_voxels(path, kind), path)
        with np.errstate(over="ignore"):  # values beyond float32 become inf: refused later
            data = image.get_fdata(caching="unchanged", dtype=np.float32)
    except (HeaderDataError, ImageFileError, ValueError, OSError):
        raise NotAnImageError(messages.unreadable_header(path), path) from None
    original_shape = tuple(int(d) for d in image.shape)
    notes = [messages.note_squeezed(original_shape)] if data.ndim > 3 else []
    if int(image.header["sform_code"]) == 0 and int(image.header["qform_code"]) == 0:
        notes.append(messages.note_no_orientation())
    return Decoded(
        data=data.reshape(data.shape[:3]),
        affine=np.asarray(image.affine, dtype=np.float64),
        format="nifti",
        original_shape=original_shape,
        notes=notes,
    )
