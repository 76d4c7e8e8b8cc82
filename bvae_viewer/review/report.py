"""Reports of a reviewed case: HTML, CSV and JSON here; the PDF (Qt's) in gui/report_writer.

Patient identifiers (name, ID, birth date, accession, institution, study date) appear only
when the caller passes include_identifiers=True; otherwise they are also removed from free
text such as the file name and the reviewer's notes.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from bvae_viewer.review.report_data import (
    MAX_THUMBNAIL_SLICES,
    RESEARCH_ONLY,
    MapKeeper,
    ReportData,
    reported_slices,
    thumbnail_slices,
    wants_maps,
)
from bvae_viewer.review.report_html import CSS, TITLE, Block, render_html, report_blocks
from bvae_viewer.review.report_path import (
    REPORT_FORMATS,
    ReportError,
    ReportFormatError,
    ReportPathError,
    check_report_path,
    report_format,
)
from bvae_viewer.review.report_tables import csv_rows, summary_dict

__all__ = [
    "CSS",
    "MAX_THUMBNAIL_SLICES",
    "REPORT_FORMATS",
    "RESEARCH_ONLY",
    "TITLE",
    "Block",
    "MapKeeper",
    "ReportData",
    "ReportError",
    "ReportFormatError",
    "ReportPathError",
    "atomic_write",
    "check_report_path",
    "render_html",
    "report_blocks",
    "report_format",
    "reported_slices",
    "summary_dict",
    "thumbnail_slices",
    "wants_maps",
    "write_csv",
    "write_html",
    "write_json",
    "write_text_report",
]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(temporary path) beside path, then rename it into place: a reader (or a crash)
    sees the old file or the whole new one, never half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created like any other file (the umask applies), unlike mkstemp's private 0600.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise ReportPathError(f"Cannot write the report to {path}: {exc.strerror or exc}.") from exc
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportPathError(f"Cannot write the report to {path}: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_html(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    text = render_html(data, include_identifiers)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    text = json.dumps(summary_dict(data, include_identifiers), indent=2, ensure_ascii=False)
    atomic_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_csv(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    columns, rows = csv_rows(data, include_identifiers)

    def write(p: Path) -> None:
        # utf-8-sig: spreadsheet programs then read accents in notes correctly.
        with open(p, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)


_WRITERS = {"html": write_html, "json": write_json, "csv": write_csv}


def write_text_report(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    """An HTML, JSON or CSV report by the file's suffix (the PDF needs Qt: see gui)."""
    fmt = report_format(path)
    if fmt not in _WRITERS:
        raise ReportFormatError(f"A {fmt.upper()} report is written by the window's PDF writer.")
    _WRITERS[fmt](data, Path(path), include_identifiers)
