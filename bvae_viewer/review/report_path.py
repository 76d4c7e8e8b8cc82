"""Where a report may be written, checked before any work (stdlib only: the CLI checks its
arguments before it loads the model)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# Suffix -> format. The PDF is Qt's, written by bvae_viewer.gui.report_writer.
REPORT_FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}


class ReportError(Exception):
    """A report cannot be written (said in one sentence)."""


class ReportFormatError(ReportError, ValueError):
    """The file name asks for a format the reports do not come in."""


class ReportPathError(ReportError, ValueError):
    """The report's location cannot hold a file."""


def report_format(path: Path | str) -> str:
    """ "pdf", "html", "csv" or "json" from the file name, or ReportFormatError."""
    suffix = Path(path).suffix.lower()
    if suffix not in REPORT_FORMATS:
        shown = f"'{suffix}'" if suffix else "no suffix"
        raise ReportFormatError(
            f"Cannot write a report to {Path(path).name} ({shown}): "
            "the name must end in .pdf, .html, .csv or .json."
        )
    return REPORT_FORMATS[suffix]


def check_report_path(path: Path | str, keep: Iterable[Path] = ()) -> str:
    """Check a report destination before any work is done; returns its format.

    keep: files the report must not replace (e.g. the analysis's own slices.csv).
    """
    path = Path(path).expanduser()
    fmt = report_format(path)
    if path.is_dir():
        raise ReportPathError(f"Cannot write the report to {path}: it is a folder.")
    target = path.resolve()
    if any(target == Path(k).expanduser().resolve() for k in keep):
        raise ReportPathError(f"Cannot write the report to {path}: the analysis writes that file.")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ReportPathError(f"Cannot write the report to {path}: {ancestor} is not a folder.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ReportPathError(f"Cannot write the report to {path}: {ancestor} is not writable.")
    return fmt
