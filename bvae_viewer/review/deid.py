"""Keep patient identifiers out of free text (file names, notes, series descriptions)."""

from __future__ import annotations

import re

from bvae_viewer.io.volume import PatientIdentity

REMOVED = "[removed]"
_MIN_PART = 3  # name parts shorter than this ("Li", "Jr") would blank out ordinary words


def _date_spellings(value: str) -> list[str]:
    """A DICOM date (YYYYMMDD) as people also write it."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return []
    y, m, d = digits[:4], digits[4:6], digits[6:]
    return [digits, f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{d}/{m}/{y}", f"{m}/{d}/{y}"]


def identifier_strings(identity: PatientIdentity) -> list[str]:
    """Every spelling of the identifiers worth searching for, longest first."""
    found: set[str] = set()
    for name, value in vars(identity).items():
        value = value.strip()
        if not value:
            continue
        found.add(value)
        if name == "patient_name":
            # DICOM person names are Family^Given^Middle^Prefix^Suffix.
            parts = [p for p in re.split(r"[\^,\s]+", value) if len(p) >= _MIN_PART]
            found.update(parts)
            if len(parts) >= 2:
                found.update({" ".join(parts), " ".join(reversed(parts))})
        if name in ("birth_date", "study_date"):
            found.update(_date_spellings(value))
    return sorted(found, key=len, reverse=True)


def redact(text: str, identity: PatientIdentity) -> str:
    """text with every identifier spelling replaced by [removed] (case-insensitive)."""
    strings = identifier_strings(identity)
    if not text or not strings:
        return text
    pattern = "|".join(re.escape(s) for s in strings)
    return re.sub(pattern, REMOVED, text, flags=re.IGNORECASE)
