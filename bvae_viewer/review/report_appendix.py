"""The report's appendix: the numbers behind page one, for whoever wants to check them.

The case's details, the scores along the volume, one row per reported slice under plain
column names ("Epistemic uncertainty (×1e-5)", not "U epist."), the maps of the reported
slices, and how to read them. Slices go by the input's own numbers, as on page one.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from bvae_viewer.analysis.display import panel_levels, panels
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.report_text import NUMBERING_NOTE
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.review.report_data import (
    MAX_THUMBNAIL_SLICES,
    RESEARCH_ONLY,
    ReportData,
    reported_slices,
)
from bvae_viewer.review.report_images import colourbar_png, data_uri, map_png, profile_png
from bvae_viewer.review.report_markup import (
    GRID_TABLE,
    PAGE_WIDTH_PX,
    ROWS_MARK,
    Block,
    Text,
    decision_html,
    fmt,
    orientation_sentence,
    verdict,
)

THUMB_PX = 106


def details_block(data: ReportData, text: Text) -> Block:
    """The case, its volume, the thresholds, the model and the device, one row each."""
    res, meta, extra = data.result, data.metadata, data.result.extra
    counts = res.case.counts
    brain = sum(v for k, v in counts.items() if k != "empty")
    series = " · ".join(
        p for p in (meta.modality, meta.format.upper(), text(meta.series_description)) if p
    )
    pol = res.policy
    rows = [
        ("Image fingerprint", f"<tt>{html.escape(data.case_hash[:16])}</tt>"),
        ("Series", series or "–"),
        ("Volume", html.escape(data.volume.describe()) if data.volume else "–"),
        ("Slices", f"{counts.get('flagged', 0)} flagged, {counts.get('review', 0)} for review, "
                   f"{counts.get('normal', 0)} normal of {brain} with brain "
                   f"({counts.get('empty', 0)} without brain)"),
        ("Thresholds",
         f"anomaly score &gt; {fmt(pol.score_threshold, 6)}; review: mean total uncertainty "
         f"&gt; {fmt(pol.uncertainty_threshold, 6)}"
         + (f" or a score within {fmt(pol.review_band, 3)}× of the anomaly threshold"
            if pol.review_band > 1 else "")
         + f"; case flagged from {pol.min_flagged_run} consecutive slices above "
         f"{fmt(pol.case_score_threshold, 6)}"
         + (f", sent to review from {pol.review_run} above "
            f"{fmt(pol.case_review_threshold, 6)}" if pol.review_run else "")),
        ("Reviewed slices", f"{len(data.decisions)} with a reviewer's decision"),
        ("Model", f"{html.escape(data.model_name)} "
                  f"<tt>sha256 {html.escape(data.model_sha256[:16])}</tt>"),
        ("Device", html.escape(data.device)
         + (f", K = {extra['samples']} latent samples" if "samples" in extra else "")),
    ]
    body = "".join(f"<tr><th width='22%'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return Block(
        "<h1>Appendix: the numbers</h1><h2>Case details</h2>"
        f"<table width='100%' cellpadding='3' cellspacing='0'>{body}</table>",
        new_page=True,
    )


def profile_block(data: ReportData, text: Text) -> Block:
    width, height = text.size(PAGE_WIDTH_PX), text.size(PAGE_WIDTH_PX * 2.1 / 7.1)
    return Block(
        "<h2>Along the volume</h2>"
        f"<img src='{data_uri(profile_png(data))}' width='{width}' height='{height}'>"
        "<p class='caption'>Anomaly score (blue) and mean total uncertainty (green) per axial "
        "slice, by input slice number; dashed: thresholds; red bands: flagged slices; amber "
        "bands: slices sent to review; ticks on the axis: slices in this report.</p>"
    )


def scale_of(values: Sequence[float]) -> int:
    """The power of ten a column is shown in: none for values a reader takes in at a glance
    (0.1 to 999), else that of the column's largest value."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not finite:
        return 0
    power = math.floor(math.log10(max(finite)))
    return 0 if -1 <= power <= 2 else power


# (panel key or "" for the score, width %, the value of a slice's scores): the numeric
# columns of the slice table, headed by the method's own names for its maps.
_COLUMNS: tuple[tuple[str, int, Callable[[SliceScores], float]], ...] = (
    ("", 9, lambda s: s.anomaly_score),
    ("error", 13, lambda s: s.recon_error),
    ("total", 11, lambda s: s.unc_total),
    ("epistemic", 11, lambda s: s.unc_epistemic),
    ("aleatoric", 11, lambda s: s.unc_aleatoric),
)


def _scaled(heading: str, power: int) -> str:
    return f"{heading} (×1e{power})" if power else heading


def table_block(data: ReportData, text: Text) -> Block:
    numbers = data.numbers()
    by_index = {s.slice_index: (s, d)
                for s, d in zip(data.result.scores, data.result.decisions, strict=True)}
    reported = reported_slices(data)
    heading = f"<h2>Reported slices ({len(reported)})</h2>"
    if not reported:
        return Block(heading + "<p>No slice was flagged or uncertain, and none was reviewed.</p>")
    powers = [scale_of([get(by_index[i][0]) for i in reported]) for _, _, get in _COLUMNS]
    rows = []
    for i in reported:
        s, d = by_index[i]
        r = data.decisions.get(i)
        cells = "".join(f"<td align='right'>{fmt(get(s) / 10.0**p)}</td>"
                        for (_, _, get), p in zip(_COLUMNS, powers, strict=True))
        rows.append(
            f"<tr><td align='right'>{numbers.number(i)}</td>"
            f"<td align='right'>{fmt(numbers.mm(i), 4)}</td><td>{decision_html(d.value)}</td>"
            f"{cells}<td>{html.escape(r.decision.value) if r else '–'}</td>"
            f"<td>{text(r.note) if r and r.note else ''}</td></tr>"
        )
    # Fixed widths: the parts of the table on different pages line up.
    columns = [("Slice", 6), ("z (mm)", 6), ("Model's call", 10)]
    titles = {"": "Anomaly score", **{p.key: p.title for p in panels(data.method)}}
    columns += [(_scaled(titles[key], p), w)
                for (key, w, _), p in zip(_COLUMNS, powers, strict=True)]
    columns += [("Reviewer", 10), ("Note", 13)]
    head = "".join(f"<th width='{w}%'>{t}</th>" for t, w in columns)
    table = f"{GRID_TABLE}<thead><tr>{head}</tr></thead>{ROWS_MARK}</table>"
    legend = (
        "<p class='caption'>Each map column is its mean over the brain (total = epistemic + "
        "aleatoric); a column marked ×1e-5 shows its values in units of 0.00001. Model's "
        "call: the model's triage; Reviewer: the latest decision recorded in the review. "
        f"{NUMBERING_NOTE}</p>"
    )
    more = "<p class='caption'>Reported slices, continued.</p>"
    return Block(heading + legend + table, rows=tuple(rows), continued=more + table)


def legend_block(data: ReportData, text: Text, shown: list[int], reported: int) -> Block:
    cells, ranges = [], []
    thumb = text.size(THUMB_PX)
    for p in panels(data.method):
        lo, hi = panel_levels(p, data.map_levels)
        cells.append(
            f"<td align='center' width='{thumb}'><b>{p.title}</b><br>"
            f"<img src='{data_uri(colourbar_png(p.cmap))}' width='{thumb}' "
            f"height='{text.size(8)}'></td>"
        )
        ranges.append(f"<td align='center' class='caption'>{fmt(lo)} – {fmt(hi)}<br>{p.unit}</td>")
    more = ""
    if len(shown) < reported:
        more = (
            f" Maps are shown for {len(shown)} of the {reported} reported slices (the "
            f"reviewed and the most anomalous, at most {MAX_THUMBNAIL_SLICES})."
        )
    return Block(
        "<h2>Maps of the reported slices</h2>"
        f"<p class='small'>Each row: one axial slice on the model's 128×128 grid, "
        f"{orientation_sentence(data.radiological)}. "
        f"Colour scales are the same for every slice, as below.{more}</p>"
        f"<table cellspacing='2' cellpadding='0'><tr>{''.join(cells)}</tr>"
        f"<tr>{''.join(ranges)}</tr></table>",
        keep_with_next=True,
    )


def slice_block(data: ReportData, index: int, s: SliceScores, d: Decision, text: Text) -> Block:
    maps = data.maps[index]
    pol = data.result.policy
    numbers = data.numbers()
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
        f"<tr><td colspan='6' style='border-top:1px solid #999'><b>Slice {numbers.number(index)}"
        f"</b> (z {fmt(numbers.mm(index), 4)} mm) · model: {decision_html(d.value)}{why} · "
        f"reviewer: {verdict(data.decisions.get(index), text)}</td></tr>"
        f"<tr><td colspan='6' class='small'>anomaly score <b>{fmt(s.anomaly_score)}</b> "
        f"(threshold {fmt(pol.score_threshold, 6)}) · error {fmt(s.recon_error)} · "
        f"uncertainty <b>{fmt(s.unc_total)}</b> (threshold "
        f"{fmt(pol.uncertainty_threshold, 6)}) = epistemic {fmt(s.unc_epistemic)} + "
        f"aleatoric {fmt(s.unc_aleatoric)}</td></tr>"
        f"<tr>{images}</tr><tr>{captions}</tr></table>"
    )


def glossary_block(data: ReportData) -> Block:
    maps = " ".join(
        f"<b>{html.escape(p.title)}</b>: {html.escape(p.tip)}" for p in panels(data.method)[1:]
    )
    return Block(
        "<h2>How to read this report</h2><p class='small'>"
        f"{maps} The <b>anomaly score</b> combines the error with the error divided by the "
        "total uncertainty, over brain pixels. A "
        "slice is <b>flagged</b> above the score threshold and sent to <b>review</b> above the "
        "uncertainty threshold or when the scan looks unlike the training data; review takes "
        "precedence, so the model never clears what it is unsure about. A <b>finding</b> is a "
        "run of flagged slices (one unflagged slice may interrupt it); its region is the "
        "pixels whose anomaly (error over uncertainty) is above the model's calibrated level, "
        "measured in the scanner's millimetres.</p>"
        f"<p><b style='color:#a00000'>{html.escape(RESEARCH_ONLY)}</b></p>"
    )
