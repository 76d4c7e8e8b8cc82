"""Find the DICOM image files of a folder and group them by series (headers only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata

_TAGS = [
    "SeriesInstanceUID",
    "SeriesDescription",
    "Modality",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "Rows",
    "Columns",
    "NumberOfFrames",
]
_IDENTITY_TAGS = {
    "patient_name": "PatientName",
    "patient_id": "PatientID",
    "birth_date": "PatientBirthDate",
    "accession_number": "AccessionNumber",
    "institution": "InstitutionName",
    "study_date": "StudyDate",
}
# VolumeMetadata field <- DICOM keyword; the sequence joins what each of its tags says.
_SERIES_TEXT = {
    "study_description": "StudyDescription",
    "contrast_agent": "ContrastBolusAgent",
    "patient_sex": "PatientSex",
}
_SEQUENCE_TAGS = ("ProtocolName", "SequenceName", "ScanningSequence")
_SERIES_NUMBERS = {
    "slice_thickness": "SliceThickness",
    "repetition_time": "RepetitionTime",
    "echo_time": "EchoTime",
}
_DICOM_SUFFIXES = {".dcm", ".ima", ".dicom", ""}


@dataclass(frozen=True)
class SliceHeader:
    """The header fields of one DICOM image file that stacking needs."""

    path: Path
    series_uid: str
    description: str
    modality: str
    position: tuple[float, ...] | None  # ImagePositionPatient, LPS mm
    orientation: tuple[float, ...] | None  # ImageOrientationPatient: row, column cosines
    pixel_spacing: tuple[float, ...] | None  # (between rows, between columns) mm
    rows: int
    columns: int
    frames: int


def is_dicom_file(path: Path) -> bool:
    """True for files with the DICOM preamble ("DICM" at byte 128)."""
    try:
        with path.open("rb") as stream:
            return stream.read(132)[128:] == b"DICM"
    except OSError:
        return False


def read_slice_header(path: Path) -> SliceHeader | None:
    """Header of one image file, or None for non-DICOM files and non-image objects."""
    force = not is_dicom_file(path)
    if force and path.suffix.lower() not in _DICOM_SUFFIXES:
        return None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS, force=force)
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError, EOFError):
        return None
    if rows == 0 or columns == 0:  # reports, plans, structure sets: not images
        return None
    return SliceHeader(
        path=path,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        description=str(ds.get("SeriesDescription", "")),
        modality=str(ds.get("Modality", "")),
        position=_floats(ds.get("ImagePositionPatient"), 3),
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
        rows=rows,
        columns=columns,
        frames=frames,
    )


def scan_folder(folder: Path) -> dict[str, list[SliceHeader]]:
    """Image headers of the files directly inside ``folder``, grouped by SeriesInstanceUID."""
    series: dict[str, list[SliceHeader]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        header = read_slice_header(path)
        if header is not None:
            series.setdefault(header.series_uid, []).append(header)
    return series


def read_identity(path: Path) -> PatientIdentity:
    """Identifying fields of one file, kept apart from the de-identified metadata."""
    ds = pydicom.dcmread(
        path, stop_before_pixels=True, specific_tags=list(_IDENTITY_TAGS.values()), force=True
    )
    return PatientIdentity(**{k: str(ds.get(tag, "") or "") for k, tag in _IDENTITY_TAGS.items()})


def read_series_fields(path: Path) -> VolumeMetadata:
    """The series' descriptive header fields (de-identified) of one of its files."""
    tags = [*_SERIES_TEXT.values(), *_SEQUENCE_TAGS, *_SERIES_NUMBERS.values()]
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags, force=True)
        text = {k: _text(ds.get(t)) for k, t in _SERIES_TEXT.items()}
        parts = [_text(ds.get(t)) for t in _SEQUENCE_TAGS]
        numbers = {k: _number(ds.get(t)) for k, t in _SERIES_NUMBERS.items()}
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError, EOFError):
        # Descriptions only: a malformed one is left unknown, it never refuses the images.
        return VolumeMetadata(format="dicom")
    sequence = " / ".join(dict.fromkeys(p for p in parts if p))  # once each, in order
    return VolumeMetadata(format="dicom", sequence=sequence, **text, **numbers)


def _text(value: object) -> str:
    """A header value as text; a multi-valued one (ScanningSequence "SE\\IR") joined."""
    if value is None:
        return ""
    if isinstance(value, str | bytes):
        return str(value).strip()
    try:
        return "\\".join(str(v).strip() for v in value)  # type: ignore[union-attr]
    except TypeError:
        return str(value).strip()


def _number(value: object) -> float:
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _floats(value: Sequence[object] | None, count: int) -> tuple[float, ...] | None:
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count else None
