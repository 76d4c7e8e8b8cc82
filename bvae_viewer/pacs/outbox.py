"""Results on their way to the PACS: queued on disk first, removed only once stored.

A push that fails (PACS down, refused) loses nothing: the objects stay in the outbox (in the
user's data folder) and the next push to that PACS, or `bvae-viewer pacs retry`, sends them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from bvae_viewer.pacs.connection import talking_to
from bvae_viewer.pacs.errors import PacsError, PushError

log = logging.getLogger(__name__)

OUTBOX_FOLDER = "pacs-outbox"
META = "entry.json"


@dataclass(frozen=True)
class OutboxEntry:
    """One set of result objects for one study of one PACS."""

    folder: Path
    url: str
    study_uid: str
    created: float
    attempts: int
    last_error: str

    def datasets(self) -> list[Dataset]:
        return [pydicom.dcmread(p) for p in sorted(self.folder.glob("*.dcm"))]


def outbox_folder(data_folder: Path) -> Path:
    return data_folder / OUTBOX_FOLDER


def enqueue(outbox: Path, url: str, study_uid: str, datasets: Sequence[Dataset]) -> OutboxEntry:
    """Write the objects to a new outbox entry; the entry appears whole or not at all."""
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    partial = outbox / f".{name}.partial"
    partial.mkdir()
    for n, ds in enumerate(datasets):
        ds.save_as(partial / f"{n:02d}-{ds.Modality}.dcm", enforce_file_format=True)
    meta = {"url": url, "study_uid": study_uid, "created": time.time(), "attempts": 0,
            "last_error": ""}
    (partial / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    partial.rename(outbox / name)
    return _read_entry(outbox / name)


def _read_entry(folder: Path) -> OutboxEntry:
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    return OutboxEntry(folder, meta["url"], meta["study_uid"], meta["created"],
                       meta["attempts"], meta["last_error"])


def pending(outbox: Path, url: str | None = None) -> list[OutboxEntry]:
    """Entries not yet stored (for one PACS when url is given), oldest first."""
    if not outbox.is_dir():
        return []
    entries = []
    for folder in sorted(outbox.iterdir()):
        if folder.name.startswith(".") or not (folder / META).is_file():
            continue
        try:
            entry = _read_entry(folder)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("outbox entry %s unreadable: %s", folder, exc)
            continue
        if url is None or entry.url.rstrip("/") == url.rstrip("/"):
            entries.append(entry)
    return entries


def _note_failure(entry: OutboxEntry, error: str) -> None:
    meta = {"url": entry.url, "study_uid": entry.study_uid, "created": entry.created,
            "attempts": entry.attempts + 1, "last_error": error}
    (entry.folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _store(client: DICOMwebClient, entry: OutboxEntry) -> None:
    datasets = entry.datasets()
    with talking_to(client.base_url, "storing the results"):
        answer = client.store_instances(datasets, study_instance_uid=entry.study_uid)
    failed = answer.get("FailedSOPSequence") if answer is not None else None
    if failed:
        raise PushError(f"The PACS refused {len(failed)} of {len(datasets)} result objects.")


def send(client: DICOMwebClient, entry: OutboxEntry) -> None:
    """Store one entry (STOW-RS) and remove it; on failure keep it and say so (PushError)."""
    try:
        _store(client, entry)
    except PacsError as exc:
        _note_failure(entry, str(exc))
        log.warning("outbox entry %s not sent: %s", entry.folder.name, exc)
        raise PushError(
            f"{exc} The results are kept and will be sent again on the next push."
        ) from None
    shutil.rmtree(entry.folder, ignore_errors=True)
    log.info("outbox entry %s stored in study %s", entry.folder.name, entry.study_uid)


def push(
    client: DICOMwebClient, outbox: Path, study_uid: str, datasets: Sequence[Dataset]
) -> int:
    """Queue the objects, then send every entry waiting for this PACS (older ones first).
    Returns how many entries were stored; PushError if any stays queued."""
    enqueue(outbox, client.base_url, study_uid, datasets)
    return retry(client, outbox)


def retry(client: DICOMwebClient, outbox: Path) -> int:
    """Send every entry waiting for this PACS; PushError (after trying them all) if any
    stays queued. Returns how many were stored."""
    sent, errors = 0, []
    for entry in pending(outbox, client.base_url):
        try:
            send(client, entry)
            sent += 1
        except PushError as exc:
            errors.append(str(exc))
    if errors:
        raise PushError(errors[0] if len(errors) == 1 else
                        f"{len(errors)} result sets could not be stored: {errors[0]}")
    return sent
