"""Read a PDF back for the tests: its text (poppler's pdftotext) and its raw, inflated bytes."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zlib
from pathlib import Path

HAVE_PDFTOTEXT = shutil.which("pdftotext") is not None
NO_PDFTOTEXT = "pdftotext (Debian package poppler-utils) is not installed"


def pdf_text(path: Path, page: int | None = None) -> str:
    """The text of a PDF (or of one page), as a reader would copy it, with ligatures undone
    (Qt draws "fi" as one glyph: a search for "Infirmary" must still find it)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", "-layout", *pages, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return unicodedata.normalize("NFKC", out.stdout)


def pdf_bytes(path: Path) -> bytes:
    """The file with every Flate stream inflated: metadata and any text drawn as plain
    strings show up here even without poppler (glyph-coded text does not)."""
    raw = Path(path).read_bytes()
    parts = [raw]
    for match in re.finditer(rb"stream\r?\n", raw):
        try:
            parts.append(zlib.decompressobj().decompress(raw[match.end() :]))
        except zlib.error:
            continue
    return b"\n".join(parts)
