"""The report as HTML blocks: one page in a browser, and the PDF's source (Qt lays them out).

The markup keeps to what Qt's rich text understands (tables, inline styles, data-URI images),
so the HTML file and the PDF show the same thing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bvae_viewer.analysis.display import panel_levels, panels
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.review.deid import redact
from bvae_viewer.review.report_data import (
    MAX_THUMBNAIL_SLICES,
    RESEARCH_ONLY,
    ReportData,
    reported_slices,
    thumbnail_slices,
)
from bvae_viewer.review.report_images import (
    colourbar_png,
    data_uri,
    map_png,
    profile_png,
)
from bvae_viewer.review.store import DecisionRecord

TITLE = "Brain MRI anomaly triage report"
PAGE_WIDTH_PX = 680  # the PDF's text width (180 mm at 96 px per inch); images are sized to it
THUMB_PX = 106
CSS = """
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; font-size: 9pt;
       color: #111; }
h1 { font-size: 15pt; margin-top: 0; margin-bottom: 2pt; }
h2 { font-size: 11.5pt; margin-top: 10pt; margin-bottom: 4pt; color: #1f3a93; }
.sub { color: #555; font-size: 8.5pt; }
.small { font-size: 7.5pt; color: #333; }
.caption { font-size: 7pt; color: #333; }
.flagged { color: #b03a2e; font-weight: bold; }
.review { color: #9a6408; font-weight: bold; }
.normal { color: #1e8449; font-weight: bold; }
.empty { color: #777; }
th { text-align: left; }
table.grid { font-size: 8pt; }
table.grid th { background-color: #e8ebf2; }
"""
_BLOCK_GAP_PX = 6


ROWS_MARK = "<!--rows-->"


@dataclass(frozen=True)
class Block:
    """A piece of the report that a page break never splits, except between table rows."""

    html: str  # with ROWS_MARK where the rows go, when there are rows
    keep_with_next: bool = False  # a heading: start a new page rather than end one
    rows: tuple[str, ...] = ()  # table rows that may continue on the next page
    continued: str = ""  # the html around the rows on a continuation page

    def part(self, rows: Sequence[str], first: bool = True) -> str:
        """The block with some of its rows (all of them: the whole block)."""
        return (self.html if first else self.continued).replace(ROWS_MARK, "".join(rows))

    def full(self) -> str:
        return self.part(self.rows)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def _when(iso: str) -> str:
    """2026-06-11T10:22:31.123+00:00 -> 2026-06-11 10:22 UTC."""
    return iso[:16].replace("T", " ") + " UTC" if "T" in iso else iso


def _decision(value: str) -> str:
    css = value if value in {d.value for d in Decision} else ""
    return f"<span class='{css}'>{html.escape(value.upper())}</span>"


class _Text:
    """Free text as it may appear: escaped, and de-identified unless identifiers are wanted;
    and sizes, in CSS pixels (1/96 inch) times px, the document's pixels per CSS pixel."""

    def __init__(self, data: ReportData, include_identifiers: bool, px: float = 1.0) -> None:
        self.data, self.keep, self.px = data, include_identifiers, px

    def __call__(self, text: str) -> str:
        return html.escape(text if self.keep else redact(text, self.data.identity))

    def size(self, css_px: float) -> int:
        return max(1, round(css_px * self.px))


def _verdict(record: DecisionRecord | None, text: _Text) -> str:
    if record is None:
        return "<i>not reviewed</i>"
    note = f" – “{text(record.note)}”" if record.note else ""
    return (
        f"<b>{html.escape(record.decision.value)}</b> "
        f"({text(record.reviewer)}, {html.escape(_when(record.made_at))}){note}"
    )


def _title_block(data: ReportData, text: _Text, include_identifiers: bool) -> Block:
    if include_identifiers and not data.identity.is_empty():
        labels = {
            "patient_name": "Patient name",
            "patient_id": "Patient ID",
            "birth_date": "Birth date",
            "accession_number": "Accession number",
            "institution": "Institution",
            "study_date": "Study date",
        }
        rows = "".join(
            f"<tr><th>{labels[k]}</th><td>{html.escape(v)}</td></tr>"
            for k, v in vars(data.identity).items()
            if v
        )
        patient = f"<table cellpadding='2' cellspacing='0'>{rows}</table>"
    elif include_identifiers:
        patient = "<p class='small'>The file carries no patient identifiers.</p>"
    else:
        patient = (
            "<p class='small'>Patient identifiers are left out of this report "
            "(de-identified). The case is identified by its image fingerprint.</p>"
        )
    return Block(
        f"<h1>{TITLE}</h1>"
        f"<p class='sub'>bvae-viewer {html.escape(data.app_version)} · uncertainty-aware "
        f"Bayesian variational autoencoder · created {html.escape(data.created_at)}</p>"
        "<table width='100%' border='1' cellspacing='0' cellpadding='5' "
        "style='border-color:#a00000; border-style:solid; margin-top:4px'>"
        f"<tr><td bgcolor='#fdecea'><b style='color:#a00000'>{html.escape(RESEARCH_ONLY)}"
        "</b></td></tr></table>" + patient
    )


def _summary_block(data: ReportData, text: _Text) -> Block:
    res, meta, extra = data.result, data.metadata, data.result.extra
    counts = res.case.counts
    brain = sum(v for k, v in counts.items() if k != "empty")
    series = " · ".join(
        p for p in (meta.modality, meta.format.upper(), text(meta.series_description)) if p
    )
    geometry = ""
    if "shape" in extra.get("metadata", {}):
        shape = "×".join(str(n) for n in extra["metadata"]["shape"])
        spacing = "×".join(f"{s:g}" for s in extra["metadata"].get("spacing_mm", []))
        geometry = f"{shape} voxels" + (f", {spacing} mm" if spacing else "")
    reasons = "; ".join(text(r) for r in res.case.reasons)
    pol = res.policy
    rows = [
        ("Case", text(data.case_label)),
        ("Image fingerprint", f"<tt>{html.escape(data.case_hash[:16])}</tt>"),
        ("Series", series or "–"),
        ("Volume", geometry or "–"),
        (
            "Model decision",
            _decision(res.case.decision.value) + (f" – {reasons}" if reasons else ""),
        ),
        ("Reviewer decision", _verdict(data.case_review, text)),
        (
            "Slices",
            f"{counts.get('flagged', 0)} flagged, {counts.get('review', 0)} for review, "
            f"{counts.get('normal', 0)} normal of {brain} with brain "
            f"({counts.get('empty', 0)} without brain)",
        ),
        (
            "Thresholds",
            f"anomaly score &gt; {_fmt(pol.score_threshold, 6)}; review: mean total "
            f"uncertainty &gt; {_fmt(pol.uncertainty_threshold, 6)}"
            + (
                f" or a score within {_fmt(pol.review_band, 3)}× of the anomaly threshold"
                if pol.review_band > 1
                else ""
            )
            + "; case flagged "
            f"from {pol.min_flagged_run} consecutive slices above "
            f"{_fmt(pol.case_score_threshold, 6)}",
        ),
        ("Reviewed slices", f"{len(data.decisions)} with a reviewer's decision"),
        (
            "Model",
            f"{html.escape(data.model_name)} <tt>sha256 {html.escape(data.model_sha256[:16])}</tt>",
        ),
        (
            "Device",
            html.escape(data.device)
            + (f", K = {extra['samples']} latent samples" if "samples" in extra else ""),
        ),
    ]
    body = "".join(f"<tr><th width='22%'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return Block(
        f"<h2>Summary</h2><table width='100%' cellpadding='3' cellspacing='0'>{body}</table>"
    )


def _profile_block(data: ReportData, text: _Text) -> Block:
    width, height = text.size(PAGE_WIDTH_PX), text.size(PAGE_WIDTH_PX * 2.1 / 7.1)
    return Block(
        "<h2>Along the volume</h2>"
        f"<img src='{data_uri(profile_png(data))}' width='{width}' height='{height}'>"
        "<p class='caption'>Anomaly score (blue) and mean total uncertainty (green) per axial "
        "slice; dashed: thresholds; red bands: flagged slices; amber bands: slices sent to "
        "review; ticks on the axis: slices in this report.</p>"
    )


def _slice_rows(data: ReportData, text: _Text) -> list[str]:
    scores = {
        s.slice_index: (s, d)
        for s, d in zip(data.result.scores, data.result.decisions, strict=True)
    }
    rows = []
    for i in reported_slices(data):
        s, d = scores[i]
        r = data.decisions.get(i)
        rows.append(
            f"<tr><td align='right'>{i}</td><td>{_decision(d.value)}</td>"
            f"<td align='right'>{_fmt(s.anomaly_score)}</td>"
            f"<td align='right'>{_fmt(s.recon_error)}</td>"
            f"<td align='right'>{_fmt(s.unc_total)}</td>"
            f"<td align='right'>{_fmt(s.unc_epistemic)}</td>"
            f"<td align='right'>{_fmt(s.unc_aleatoric)}</td>"
            f"<td>{html.escape(r.decision.value) if r else '–'}</td>"
            f"<td>{text(r.note) if r and r.note else ''}</td></tr>"
        )
    return rows


def _table_block(data: ReportData, text: _Text) -> Block:
    rows = _slice_rows(data, text)
    heading = f"<h2>Reported slices ({len(rows)})</h2>"
    if not rows:
        return Block(heading + "<p>No slice was flagged or uncertain, and none was reviewed.</p>")
    # Fixed widths: the parts of the table on different pages line up.
    head = "".join(
        f"<th width='{w}%'>{t}</th>"
        for t, w in (
            ("Slice", 6),
            ("Model", 11),
            ("Score", 9),
            ("Error", 9),
            ("U total", 9),
            ("U epist.", 10),
            ("U aleat.", 9),
            ("Reviewer", 10),
            ("Note", 27),
        )
    )
    table = (
        "<table class='grid' width='100%' border='1' cellspacing='0' cellpadding='2' "
        f"style='border-color:#c8ccd6; border-style:solid'><thead><tr>{head}</tr></thead>"
        f"{ROWS_MARK}</table>"
    )
    legend = (
        "<p class='caption'>Score: anomaly score; U: mean uncertainty over the brain "
        "(total = epistemic + aleatoric); Model: the model's triage; Reviewer: the latest "
        "decision recorded in the review.</p>"
    )
    more = "<p class='caption'>Reported slices, continued.</p>"
    return Block(heading + legend + table, rows=tuple(rows), continued=more + table)


def _legend_block(data: ReportData, text: _Text, shown: list[int], reported: int) -> Block:
    cells, ranges = [], []
    thumb = text.size(THUMB_PX)
    for p in panels(data.method):
        lo, hi = panel_levels(p, data.map_levels)
        cells.append(
            f"<td align='center' width='{thumb}'><b>{p.title}</b><br>"
            f"<img src='{data_uri(colourbar_png(p.cmap))}' width='{thumb}' "
            f"height='{text.size(8)}'></td>"
        )
        ranges.append(
            f"<td align='center' class='caption'>{_fmt(lo)} – {_fmt(hi)}<br>{p.unit}</td>"
        )
    side = (
        "radiological view: the patient's right is on the image's left"
        if data.radiological
        else "neurological view: the patient's left is on the image's left"
    )
    more = ""
    if len(shown) < reported:
        more = (
            f" Maps are shown for {len(shown)} of the {reported} reported slices (the "
            f"reviewed and the most anomalous, at most {MAX_THUMBNAIL_SLICES})."
        )
    return Block(
        "<h2>Maps of the reported slices</h2>"
        f"<p class='small'>Each row: one axial slice on the model's 128×128 grid, {side}. "
        f"Colour scales are the same for every slice, as below.{more}</p>"
        f"<table cellspacing='2' cellpadding='0'><tr>{''.join(cells)}</tr>"
        f"<tr>{''.join(ranges)}</tr></table>",
        keep_with_next=True,
    )


def _slice_block(data: ReportData, index: int, s: SliceScores, d: Decision, text: _Text) -> Block:
    maps = data.maps[index]
    pol = data.result.policy
    images, thumb = "", text.size(THUMB_PX)
    shown = panels(data.method)
    for p in shown:
        png = map_png(maps, p, panel_levels(p, data.map_levels), data.radiological)
        images += (
            f"<td align='center'><img src='{data_uri(png)}' width='{thumb}' height='{thumb}'></td>"
        )
    captions = "".join(f"<td align='center' class='caption'>{p.title}</td>" for p in shown)
    own = pol.decide_slice(s)
    why = "" if own == d else f" (on its own: {own.value})"
    return Block(
        "<table width='100%' cellspacing='2' cellpadding='0'>"
        f"<tr><td colspan='6' style='border-top:1px solid #999'><b>Slice {index}</b> · model: "
        f"{_decision(d.value)}{why} · reviewer: {_verdict(data.decisions.get(index), text)}"
        "</td></tr>"
        f"<tr><td colspan='6' class='small'>anomaly score <b>{_fmt(s.anomaly_score)}</b> "
        f"(threshold {_fmt(pol.score_threshold, 6)}) · error {_fmt(s.recon_error)} · "
        f"uncertainty <b>{_fmt(s.unc_total)}</b> (threshold "
        f"{_fmt(pol.uncertainty_threshold, 6)}) = epistemic {_fmt(s.unc_epistemic)} + "
        f"aleatoric {_fmt(s.unc_aleatoric)}</td></tr>"
        f"<tr>{images}</tr><tr>{captions}</tr></table>"
    )


def _glossary_block(data: ReportData) -> Block:
    maps = " ".join(
        f"<b>{html.escape(p.title)}</b>: {html.escape(p.tip)}" for p in panels(data.method)[1:]
    )
    return Block(
        "<h2>How to read this report</h2><p class='small'>"
        f"{maps} The <b>anomaly score</b> combines the error with the error divided by the "
        "total uncertainty, over brain pixels. A "
        "slice is <b>flagged</b> above the score threshold and sent to <b>review</b> above the "
        "uncertainty threshold or when the scan looks unlike the training data; review takes "
        "precedence, so the model never clears what it is unsure about.</p>"
        f"<p><b style='color:#a00000'>{html.escape(RESEARCH_ONLY)}</b></p>"
    )


def report_blocks(
    data: ReportData, include_identifiers: bool = False, px: float = 1.0
) -> list[Block]:
    """The report in reading order; px: document pixels per CSS pixel (1/96 inch)."""
    text = _Text(data, include_identifiers, px)
    decisions = {
        s.slice_index: (s, d)
        for s, d in zip(data.result.scores, data.result.decisions, strict=True)
    }
    reported = reported_slices(data)
    shown = thumbnail_slices(data)
    blocks = [
        _title_block(data, text, include_identifiers),
        _summary_block(data, text),
        _profile_block(data, text),
        _table_block(data, text),
    ]
    if shown:
        blocks.append(_legend_block(data, text, shown, len(reported)))
        blocks += [_slice_block(data, i, *decisions[i], text) for i in shown]
    blocks.append(_glossary_block(data))
    return blocks


def render_html(data: ReportData, include_identifiers: bool = False) -> str:
    """A self-contained HTML page (images inlined)."""
    gap = f"<div style='height:{_BLOCK_GAP_PX}px'></div>"
    blocks = report_blocks(data, include_identifiers)
    # A browser keeps a block on one page, but lets a long table run on.
    body = gap.join(
        f"<div class='{'table' if b.rows else 'block'}'>{b.full()}</div>" for b in blocks
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{TITLE}</title><style>{CSS}"
        "body { max-width: 190mm; margin: 12mm auto; }"
        " .block { page-break-inside: avoid; } tr { page-break-inside: avoid; }"
        " @page { size: A4; margin: 15mm; }"
        f"</style></head><body>{body}</body></html>"
    )
