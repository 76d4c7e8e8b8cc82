"""The report as HTML blocks: one page in a browser, and the PDF's source (Qt lays them out).

Page one (report_page_one) is what a radiologist hands on; the appendix (report_appendix),
from a new page, holds the numbers behind it.
"""

from __future__ import annotations

from bvae_viewer.review.report_appendix import (
    details_block,
    glossary_block,
    legend_block,
    profile_block,
    slice_block,
    table_block,
)
from bvae_viewer.review.report_data import ReportData, reported_slices, thumbnail_slices
from bvae_viewer.review.report_markup import CSS, TITLE, Block, Text
from bvae_viewer.review.report_page_one import page_one

__all__ = ["CSS", "TITLE", "Block", "render_html", "report_blocks"]
_BLOCK_GAP_PX = 6


def report_blocks(
    data: ReportData, include_identifiers: bool = False, px: float = 1.0
) -> list[Block]:
    """The report in reading order; px: document pixels per CSS pixel (1/96 inch)."""
    text = Text(data, include_identifiers, px)
    decisions = {
        s.slice_index: (s, d)
        for s, d in zip(data.result.scores, data.result.decisions, strict=True)
    }
    reported = reported_slices(data)
    shown = thumbnail_slices(data)
    blocks = page_one(data, text, include_identifiers)
    blocks += [details_block(data, text), profile_block(data, text), table_block(data, text)]
    if shown:
        blocks.append(legend_block(data, text, shown, len(reported)))
        blocks += [slice_block(data, i, *decisions[i], text) for i in shown]
    blocks.append(glossary_block(data))
    return blocks


def render_html(data: ReportData, include_identifiers: bool = False) -> str:
    """A self-contained HTML page (images inlined)."""
    gap = f"<div style='height:{_BLOCK_GAP_PX}px'></div>"
    blocks = report_blocks(data, include_identifiers)
    # A browser keeps a block on one page, but lets a long table run on.
    page_break = " style='page-break-before: always'"
    body = gap.join(
        f"<div class='{'table' if b.rows else 'block'}'{page_break if b.new_page else ''}>"
        f"{b.full()}</div>"
        for b in blocks
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{TITLE}</title><style>{CSS}"
        "body { max-width: 190mm; margin: 12mm auto; }"
        " .block { page-break-inside: avoid; } tr { page-break-inside: avoid; }"
        " @page { size: A4; margin: 15mm; }"
        f"</style></head><body>{body}</body></html>"
    )
