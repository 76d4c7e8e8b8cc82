"""DICOM reader: a series folder, or one file whose series is loaded from its folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import SimpleITK as sitk

from bvae_viewer.io import messages
from bvae_viewer.io.assemble import Decoded
from bvae_viewer.io.checks import check_shape
from bvae_viewer.io.dicom_geometry import sort_slices
from bvae_viewer.io.dicom_scan import (
    SliceHeader,
    read_identity,
    read_series_fields,
    read_slice_header,
    scan_folder,
)
from bvae_viewer.io.errors import (
    CorruptVolumeError,
    IrregularSeriesError,
    NoDicomError,
    NotAnImageError,
    SeriesNotFoundError,
)
from bvae_viewer.io.itk import read_itk


def read_dicom(path: Path, series: str | None = None) -> Decoded:
    """Load one series: ``series`` (a SeriesInstanceUID) if given, else the file's own
    series (for a file) or the series with the most slices (for a folder)."""
    folder, wanted = path, series
    if path.is_file():
        header = read_slice_header(path)
        if header is None:
            raise NotAnImageError(messages.unreadable_header(path), path)
        folder, wanted = path.parent, series or header.series_uid
    groups = scan_folder(folder)
    if not groups:
        raise NoDicomError(messages.no_dicom(folder), folder)
    if wanted is None:
        wanted = max(sorted(groups), key=lambda uid: sum(s.frames for s in groups[uid]))
    if wanted not in groups:
        raise SeriesNotFoundError(messages.series_not_found(folder, wanted, len(groups)), path)
    slices = groups[wanted]
    decoded = _read_series(path, slices)
    notes = list(decoded.notes)
    if len(groups) > 1:
        n_slices = decoded.data.shape[2]
        notes.insert(0, messages.note_series_choice(len(groups), slices[0].description, n_slices))
    return replace(
        decoded,
        format="dicom",
        modality=slices[0].modality,
        series_description=slices[0].description,
        notes=notes,
        identity=read_identity(slices[0].path),
        series=read_series_fields(slices[0].path),
    )


def _read_series(path: Path, slices: list[SliceHeader]) -> Decoded:
    if any(s.frames > 1 for s in slices):
        if len(slices) > 1:
            raise IrregularSeriesError(messages.several_multiframe(path, len(slices)), path)
        # An enhanced/multi-frame object: GDCM knows its per-frame geometry.
        return read_itk(slices[0].path, "dicom", raw_file=False)
    first = slices[0]
    check_shape(path, (first.columns, first.rows, len(slices)))
    ordered, affine = sort_slices(path, slices)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(s.path) for s in ordered])  # read in this order, not re-sorted
    reader.SetOutputPixelType(sitk.sitkFloat32)  # applies each slice's own rescale slope
    try:
        with _quiet_itk():
            image = reader.Execute()
    except RuntimeError:
        raise CorruptVolumeError(messages.reader_failed(path), path) from None
    expected = (first.columns, first.rows, len(ordered))
    if tuple(image.GetSize()) != expected or image.GetNumberOfComponentsPerPixel() != 1:
        raise NotAnImageError(messages.unsupported_voxels(path, "colour or multi-channel"), path)
    data = sitk.GetArrayFromImage(image).transpose(2, 1, 0)  # (z, y, x) -> (column, row, slice)
    return Decoded(data=data, affine=affine, format="dicom", original_shape=expected)


@contextmanager
def _quiet_itk() -> Iterator[None]:
    """Silence ITK's spacing warnings on stderr: the spacing was already checked, stricter."""
    previous = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(previous)
