"""Bring one brain MR series from the PACS into a folder (WADO-RS): complete or not at all."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pydicom
from dicomweb_client.api import DICOMwebClient

from bvae_viewer.pacs.connection import talking_to
from bvae_viewer.pacs.errors import (
    IncompleteSeriesError,
    NotBrainMrError,
    PacsError,
    PacsUnreachableError,
    PullCancelled,
)
from bvae_viewer.pacs.worklist import SeriesRow, list_instance_uids, list_series

log = logging.getLogger(__name__)

# BodyPartExamined values of a brain MR; an empty one is common and let through: the model's
# own out-of-distribution check still sends an unlike-the-training-data volume to review.
BRAIN_PARTS = frozenset({"", "BRAIN", "HEAD"})

Progress = Callable[[int, int], None]  # (instances received, instances expected)
# Written beside the images: where they came from, so results can go back to that study.
PULL_RECORD = "pacs-source.json"


def refusal(series: SeriesRow) -> str | None:
    """Why this series is not for the model (one sentence), or None if it is a brain MR."""
    name = series.description or series.series_uid
    if series.modality.upper() != "MR":
        return f"Series '{name}' is {series.modality or 'of no stated modality'}, not MR: " \
            "the model reads brain MR only."
    if series.body_part.upper() not in BRAIN_PARTS:
        return f"Series '{name}' is an MR of the {series.body_part.lower()}, not of the " \
            "brain: the model reads brain MR only."
    return None


def check_brain_mr(series: SeriesRow) -> None:
    reason = refusal(series)
    if reason:
        raise NotBrainMrError(reason)


def choose_series(client: DICOMwebClient, study_uid: str, series_uid: str = "") -> SeriesRow:
    """The series to analyse: the one asked for (if a brain MR), else the study's brain MR
    series with the most images."""
    series = list_series(client, study_uid)
    if not series:
        raise PacsError(f"The PACS has no series in study {study_uid}.")
    if series_uid:
        wanted = [s for s in series if s.series_uid == series_uid]
        if not wanted:
            raise PacsError(f"Study {study_uid} has no series {series_uid}.")
        check_brain_mr(wanted[0])
        return wanted[0]
    brain = [s for s in series if refusal(s) is None]
    if not brain:
        kinds = ", ".join(sorted({f"{s.modality} {s.body_part}".strip() for s in series}))
        raise NotBrainMrError(
            f"Study {study_uid} has no brain MR series (it holds {kinds}): "
            "the model reads brain MR only."
        )
    return max(brain, key=lambda s: s.n_instances or 0)


def _partial_folder(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.partial")


def _check_destination(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise PacsError(f"{out_dir} already exists and is not an empty folder.")


def pull_series(
    client: DICOMwebClient,
    study_uid: str,
    series: SeriesRow,
    out_dir: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Every instance of the series as DICOM files in out_dir; out_dir appears only when all
    of them arrived (a broken, cancelled or short transfer leaves nothing behind)."""
    check_brain_mr(series)
    out_dir = Path(out_dir)
    _check_destination(out_dir)
    expected = set(list_instance_uids(client, study_uid, series.series_uid))
    if not expected:
        raise PacsError(f"The PACS lists no images in series {series.series_uid}.")
    partial = _partial_folder(out_dir)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        received = _receive(client, study_uid, series, partial, len(expected), progress, cancel)
        if received != expected:
            raise IncompleteSeriesError(
                f"Only {len(received & expected)} of {len(expected)} images of series "
                f"'{series.description or series.series_uid}' arrived; nothing was analysed."
            )
        record = {"url": client.base_url, "study_uid": study_uid,
                  "series_uid": series.series_uid, "description": series.description,
                  "study": _study_label(partial)}
        (partial / PULL_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        partial.rename(out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("pulled %d images of series %s into %s", len(expected), series.series_uid, out_dir)
    return out_dir


def _study_label(folder: Path) -> str:
    """'Doe Jane, 2024-11-05, MR BRAIN': how the reviewer knows the study (a confirmation
    names it before results go back)."""
    first = next(folder.glob("*.dcm"))
    ds = pydicom.dcmread(first, stop_before_pixels=True)
    day = str(ds.get("StudyDate", ""))
    day = f"{day[:4]}-{day[4:6]}-{day[6:]}" if len(day) == 8 else day
    parts = (str(ds.get("PatientName", "")).replace("^", " ").strip(), day,
             str(ds.get("StudyDescription", "")))
    return ", ".join(p for p in parts if p)


def _receive(
    client: DICOMwebClient,
    study_uid: str,
    series: SeriesRow,
    folder: Path,
    total: int,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> set[str]:
    """Stream the series into folder; the SOP Instance UIDs that arrived."""
    received: set[str] = set()
    if progress:
        progress(0, total)
    try:
        with talking_to(client.base_url, "sending the series"):
            for ds in client.iter_series(study_uid, series.series_uid):
                if cancel is not None and cancel.is_set():
                    raise PullCancelled("The transfer was cancelled; nothing was kept.")
                uid = str(ds.SOPInstanceUID)
                ds.save_as(folder / f"{uid}.dcm", enforce_file_format=True)
                received.add(uid)
                if progress:
                    progress(len(received), total)
    except (PacsUnreachableError, ValueError, EOFError) as exc:
        # A connection that breaks mid-stream, or a multipart answer cut short.
        log.warning("series %s: transfer broke after %d of %d images: %s",
                    series.series_uid, len(received), total, exc)
        raise IncompleteSeriesError(
            f"The transfer broke after {len(received)} of {total} images of series "
            f"'{series.description or series.series_uid}'; nothing was kept or analysed."
        ) from None
    return received


def pull_record(folder: Path) -> dict[str, str] | None:
    """Where a pulled folder came from (url, study_uid, series_uid), or None."""
    try:
        return json.loads((Path(folder) / PULL_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
