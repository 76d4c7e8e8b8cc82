"""The worklist: studies and their series as the PACS lists them (QIDO-RS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from bvae_viewer.pacs.connection import talking_to

STUDY_FIELDS = (
    "PatientName", "PatientID", "StudyDate", "StudyDescription", "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries", "AccessionNumber", "StudyInstanceUID",
)
SERIES_FIELDS = (
    "Modality", "SeriesDescription", "SeriesNumber", "BodyPartExamined",
    "NumberOfSeriesRelatedInstances", "SeriesInstanceUID",
)


@dataclass(frozen=True)
class StudyRow:
    """One study of the worklist."""

    study_uid: str
    patient_name: str
    patient_id: str
    study_date: str  # YYYYMMDD as the PACS has it
    description: str
    modalities: tuple[str, ...]
    n_series: int | None  # None where the PACS does not say

    def line(self) -> str:
        """One line for the terminal: what a person scans for, then the UID to copy."""
        series = "?" if self.n_series is None else str(self.n_series)
        return "\t".join((
            self.patient_name or "-", self.patient_id or "-", self.study_date or "-",
            self.description or "-", "/".join(self.modalities) or "-", f"{series} series",
            self.study_uid,
        ))  # fmt: skip


@dataclass(frozen=True)
class SeriesRow:
    """One series of a study."""

    series_uid: str
    modality: str
    description: str
    number: int | None
    body_part: str
    n_instances: int | None


def _dataset(item: dict[str, Any]) -> Dataset:
    return Dataset.from_json(item)


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value)


def study_row(item: dict[str, Any]) -> StudyRow:
    ds = _dataset(item)
    modalities = ds.get("ModalitiesInStudy") or ()
    if isinstance(modalities, str):
        modalities = (modalities,)
    return StudyRow(
        study_uid=_text(ds, "StudyInstanceUID"),
        patient_name=_text(ds, "PatientName").replace("^", " ").strip(),
        patient_id=_text(ds, "PatientID"),
        study_date=_text(ds, "StudyDate"),
        description=_text(ds, "StudyDescription"),
        modalities=tuple(str(m) for m in modalities),
        n_series=_int(ds, "NumberOfStudyRelatedSeries"),
    )


def series_row(item: dict[str, Any]) -> SeriesRow:
    ds = _dataset(item)
    return SeriesRow(
        series_uid=_text(ds, "SeriesInstanceUID"),
        modality=_text(ds, "Modality"),
        description=_text(ds, "SeriesDescription"),
        number=_int(ds, "SeriesNumber"),
        body_part=_text(ds, "BodyPartExamined"),
        n_instances=_int(ds, "NumberOfSeriesRelatedInstances"),
    )


def date_range(start: date | None, end: date | None) -> str | None:
    """A DICOM date range for QIDO-RS ('20240101-20240131', open at either end)."""
    if start is None and end is None:
        return None
    fmt = "%Y%m%d"
    return f"{start.strftime(fmt) if start else ''}-{end.strftime(fmt) if end else ''}"


def search_studies(
    client: DICOMwebClient,
    patient: str = "",
    start: date | None = None,
    end: date | None = None,
    limit: int = 200,
) -> list[StudyRow]:
    """Studies whose patient name or ID contains `patient`, in the date range, newest first."""
    base: dict[str, str] = {}
    dates = date_range(start, end)
    if dates:
        base["StudyDate"] = dates
    # "doe jane" finds Doe^Jane: the words, in order, anywhere in the name or the ID.
    pattern = "*" + "*".join(re.split(r"[\s^,]+", patient.strip())) + "*"
    # A name and an ID are both "the patient" to a clinician: ask for either and merge.
    queries = [base] if not patient.strip() else [
        {**base, "PatientName": pattern}, {**base, "PatientID": pattern}
    ]
    rows: dict[str, StudyRow] = {}
    with talking_to(client.base_url, "listing studies"):
        for filters in queries:
            found = client.search_for_studies(
                fields=list(STUDY_FIELDS), search_filters=filters, limit=limit
            )
            for item in found:
                row = study_row(item)
                rows.setdefault(row.study_uid, row)
    return sorted(rows.values(), key=lambda r: (r.study_date, r.study_uid), reverse=True)


def list_series(client: DICOMwebClient, study_uid: str) -> list[SeriesRow]:
    """The series of one study, by series number."""
    with talking_to(client.base_url, "listing the study's series"):
        found = client.search_for_series(study_uid, fields=list(SERIES_FIELDS))
    rows = [series_row(item) for item in found]
    return sorted(rows, key=lambda r: (r.number is None, r.number or 0, r.series_uid))


def list_instance_uids(client: DICOMwebClient, study_uid: str, series_uid: str) -> list[str]:
    """The SOP Instance UIDs the PACS holds for a series (what a complete pull must bring)."""
    with talking_to(client.base_url, "listing the series' images"):
        found = client.search_for_instances(
            study_uid, series_uid, fields=["SOPInstanceUID"], get_remaining=True
        )
    return [_text(_dataset(item), "SOPInstanceUID") for item in found]
