"""The pieces every part of the HTML report is made of: blocks, the style sheet, escaping.

The markup keeps to what Qt's rich text understands (tables, inline styles, data-URI images),
so the HTML file and the PDF show the same thing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bvae_viewer.analysis.triage import Decision
from bvae_viewer.review.deid import redact
from bvae_viewer.review.report_data import ReportData
from bvae_viewer.review.store import DecisionRecord

TITLE = "Brain MRI anomaly triage report"
PAGE_WIDTH_PX = 680  # the PDF's text width (180 mm at 96 px per inch); images are sized to it
CSS = """
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; font-size: 9pt;
       color: #111; }
h1 { font-size: 15pt; margin-top: 0; margin-bottom: 2pt; }
h2 { font-size: 11.5pt; margin-top: 10pt; margin-bottom: 4pt; color: #1f3a93; }
.sub { color: #555; font-size: 8.5pt; }
.small { font-size: 7.5pt; color: #333; }
.caption { font-size: 7pt; color: #333; }
.mark { font-size: 8pt; font-weight: bold; color: #333; }
.headline { font-size: 12.5pt; font-weight: bold; }
.flagged { color: #b03a2e; font-weight: bold; }
.review { color: #9a6408; font-weight: bold; }
.normal { color: #1e8449; font-weight: bold; }
.empty { color: #777; }
.abnormal { color: #b03a2e; font-weight: bold; }
.defer { color: #9a6408; font-weight: bold; }
th { text-align: left; }
table.grid { font-size: 8pt; }
table.grid th { background-color: #e8ebf2; font-size: 7pt; }
"""
ROWS_MARK = "<!--rows-->"
GRID_TABLE = (
    "<table class='grid' width='100%' border='1' cellspacing='0' cellpadding='2' "
    "style='border-color:#c8ccd6; border-style:solid'>"
)


@dataclass(frozen=True)
class Block:
    """A piece of the report that a page break never splits, except between table rows."""

    html: str  # with ROWS_MARK where the rows go, when there are rows
    keep_with_next: bool = False  # a heading: start a new page rather than end one
    rows: tuple[str, ...] = ()  # table rows that may continue on the next page
    continued: str = ""  # the html around the rows on a continuation page
    new_page: bool = False  # starts a page (the appendix after page one)

    def part(self, rows: Sequence[str], first: bool = True) -> str:
        """The block with some of its rows (all of them: the whole block)."""
        return (self.html if first else self.continued).replace(ROWS_MARK, "".join(rows))

    def full(self) -> str:
        return self.part(self.rows)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def when(iso: str) -> str:
    """2026-06-11T10:22:31.123+00:00 -> 2026-06-11 10:22 UTC."""
    return iso[:16].replace("T", " ") + " UTC" if "T" in iso else iso


def decision_html(value: str) -> str:
    """A model's or a reviewer's decision, in capitals and its colour."""
    css = value if value in {*(d.value for d in Decision), "abnormal", "defer"} else ""
    return f"<span class='{css}'>{html.escape(value.upper())}</span>"


class Text:
    """Free text as it may appear: escaped, and de-identified unless identifiers are wanted;
    and sizes, in CSS pixels (1/96 inch) times px, the document's pixels per CSS pixel."""

    def __init__(self, data: ReportData, include_identifiers: bool, px: float = 1.0) -> None:
        self.data, self.keep, self.px = data, include_identifiers, px

    def __call__(self, text: str) -> str:
        return html.escape(text if self.keep else redact(text, self.data.identity))

    def size(self, css_px: float) -> int:
        return max(1, round(css_px * self.px))


def verdict(record: DecisionRecord | None, text: Text) -> str:
    if record is None:
        return "<i>not reviewed</i>"
    note = f" – “{text(record.note)}”" if record.note else ""
    return (
        f"<b>{html.escape(record.decision.value)}</b> "
        f"({text(record.reviewer)}, {html.escape(when(record.made_at))}){note}"
    )


def orientation_sentence(radiological: bool) -> str:
    if radiological:
        return "radiological view: the patient's right is on the image's left"
    return "neurological view: the patient's left is on the image's left"
