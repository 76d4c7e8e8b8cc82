"""What a report calls its case, and the file it proposes to be saved as.

A de-identified report must not name the patient, but "[removed]_[removed]_report.pdf" is no
name a colleague can file either: a case that carries patient identifiers (a DICOM series,
often in a folder named after the patient) is called by its image fingerprint instead,
"case-1a2b3c4d"; a plain file name without identifiers is kept as it is.
"""

from __future__ import annotations

import re
from datetime import date

from bvae_viewer.io.volume import PatientIdentity
from bvae_viewer.review.deid import redact

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".dcm")
FINGERPRINT_CHARS = 8


def volume_stem(name: str) -> str:
    """A volume's file or folder name without its format suffix."""
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def case_name(
    label: str, identity: PatientIdentity, fingerprint: str, include_identifiers: bool = False
) -> str:
    """The case as a report names it: its own name when identifiers may appear or it has none
    to leave out, else 'case-' and the start of its fingerprint."""
    stem = volume_stem(label) or "case"
    if include_identifiers:
        return stem
    if identity.is_empty() and redact(stem, identity) == stem:
        return stem
    return f"case-{fingerprint[:FINGERPRINT_CHARS]}"


def report_file_name(
    label: str, identity: PatientIdentity, fingerprint: str, day: date | None = None
) -> str:
    """'<case name>_<YYYY-MM-DD>_report.pdf', with the de-identified case name and only
    characters every file system takes."""
    name = case_name(label, identity, fingerprint)
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "case"
    return f"{safe}_{(day or date.today()).isoformat()}_report.pdf"
