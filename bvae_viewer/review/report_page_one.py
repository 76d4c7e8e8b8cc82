"""The report's first page: what a radiologist hands on.

The case's conclusion in plain words, its findings (where, how big, how anomalous) with a key
image each, marked R/L and A/P, why slices wait for review, the reviewer's sign-off, and the
model and research-use line. The numbers behind it are in the appendix (report_appendix).
"""

from __future__ import annotations

import html
from collections import Counter

from bvae_viewer.analysis.display import method_of
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.report_text import NUMBERING_NOTE, conclusion, review_summary
from bvae_viewer.review.report_data import RESEARCH_ONLY, ReportData
from bvae_viewer.review.report_images import data_uri, key_image_png
from bvae_viewer.review.report_markup import (
    GRID_TABLE,
    TITLE,
    Block,
    Text,
    decision_html,
    fmt,
    orientation_sentence,
    when,
)
from bvae_viewer.review.report_names import case_name

MAX_KEY_IMAGES = 4  # one row across the page
KEY_PX = 130  # four across an A4 page with their R/L letters
_IDENTITY_LABELS = {
    "patient_name": "Patient name",
    "patient_id": "Patient ID",
    "birth_date": "Birth date",
    "accession_number": "Accession number",
    "institution": "Institution",
    "study_date": "Study date",
}


def title_block(data: ReportData, text: Text, include_identifiers: bool) -> Block:
    name = case_name(data.case_label, data.identity, data.case_hash, include_identifiers)
    if include_identifiers and not data.identity.is_empty():
        rows = "".join(
            f"<tr><th>{_IDENTITY_LABELS[k]}</th><td>{html.escape(v)}</td></tr>"
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
        f"<p class='sub'>Case <b>{text(name)}</b> · image fingerprint "
        f"<tt>{html.escape(data.case_hash[:16])}</tt> · created "
        f"{html.escape(data.created_at)}</p>"
        "<table width='100%' border='1' cellspacing='0' cellpadding='4' "
        "style='border-color:#a00000; border-style:solid; margin-top:4px'>"
        f"<tr><td bgcolor='#fdecea'><b style='color:#a00000'>{html.escape(RESEARCH_ONLY)}"
        "</b></td></tr></table>" + patient
    )


def conclusion_block(data: ReportData, text: Text) -> Block:
    headline, why = conclusion(data.result, data.findings)
    css = data.result.case.decision.value
    return Block(
        "<h2>Conclusion</h2>"
        f"<p class='headline'><span class='{css}'>{html.escape(headline)}</span></p>"
        f"<p>{text(why)}</p>"
    )


def _finding_row(f: Finding, data: ReportData) -> str:
    numbers = data.numbers()
    first, last = (a + 1 for a in f.input_slices)
    slices = f"{first}" if first == last else f"{first}–{last}"
    extent = " × ".join(f"{v:.0f}" for v in f.extent_mm) if f.side else "–"
    centre = ", ".join(f"{v:.0f}" for v in f.centre_mm) if f.side else "–"
    return (
        f"<tr><td align='right'>{f.number}</td><td>{html.escape(f.side or '–')}</td>"
        f"<td>{slices} ({len(f.flagged)} flagged)</td><td>{extent}</td><td>{centre}</td>"
        f"<td align='right'>{numbers.number(f.peak_position)}</td>"
        f"<td align='right'>{fmt(f.peak_score)}</td>"
        f"<td align='right'>{fmt(f.region_ml, 2) if f.side else '–'}</td></tr>"
    )


def _marked(png: str, size: int, radiological: bool) -> str:
    """An image in a frame of orientation letters: A above, P below, and the patient's
    right on whichever side this view puts it."""
    left, right = ("R", "L") if radiological else ("L", "R")
    return (
        "<table cellspacing='0' cellpadding='1'>"
        "<tr><td></td><td align='center' class='mark'>A</td><td></td></tr>"
        f"<tr><td valign='middle' class='mark'>{left}</td>"
        f"<td><img src='{png}' width='{size}' height='{size}'></td>"
        f"<td valign='middle' class='mark'>{right}</td></tr>"
        "<tr><td></td><td align='center' class='mark'>P</td><td></td></tr></table>"
    )


def _key_images(data: ReportData, text: Text) -> str:
    numbers, size = data.numbers(), text.size(KEY_PX)
    cells = []
    for f in data.findings[:MAX_KEY_IMAGES]:
        key = data.key_images.get(f.number)
        if key is None:
            continue
        png = data_uri(key_image_png(key.image, key.region, data.radiological))
        if key.acquired_slice is None:
            z = fmt(numbers.mm(key.position), 4)
            where = f"slice {numbers.number(key.position)} (z {z} mm)"
        else:
            where = f"slice {key.acquired_slice + 1} (z {fmt(key.acquired_z_mm, 4)} mm)"
        cells.append(
            f"<td align='center' valign='top'>{_marked(png, size, data.radiological)}"
            f"<span class='caption'>Finding {f.number}: {where}, its peak</span></td>"
        )
    if not cells:
        return ""
    more = len(data.findings) - len(cells)
    note = f" Key images of the first {len(cells)} findings." if more > 0 else ""
    acquired = any(k.acquired_slice is not None for k in data.key_images.values())
    seen = "as acquired" if acquired else "as the model saw it"
    return (
        f"<table cellspacing='4' cellpadding='0'><tr>{''.join(cells)}</tr></table>"
        f"<p class='caption'>Key images: the input slice {seen}, the finding's "
        f"region outlined in red; {orientation_sentence(data.radiological)}.{note}</p>"
    )


def findings_block(data: ReportData, text: Text) -> Block:
    if not data.findings:
        return Block("<h2>Findings</h2><p>None: no slice is above the line.</p>")
    head = "".join(
        f"<th width='{w}%'>{t}</th>"
        for t, w in (
            ("#", 4), ("Side", 9), ("Input slices", 21), ("Extent L-R × A-P × I-S (mm)", 18),
            ("Centre x, y, z (mm)", 15), ("Peak slice", 8), ("Peak score", 8),
            ("Region (ml)", 8),
        )
    )
    rows = "".join(_finding_row(f, data) for f in data.findings)
    return Block(
        f"<h2>Findings ({len(data.findings)})</h2>"
        f"{GRID_TABLE}<thead><tr>{head}</tr></thead>{rows}</table>"
        "<p class='caption'>A finding is a run of flagged slices, highest peak score first; "
        "its region is where the model's pixel anomaly is above its calibrated level.</p>"
        + _key_images(data, text)
    )


def review_block(data: ReportData, text: Text) -> Block | None:
    groups = review_summary(data.result)
    if not groups:
        return None
    numbers = data.numbers()
    items = "".join(
        f"<li><b>{html.escape(g.kind)}</b>: {len(g.positions)} "
        f"slice{'s' if len(g.positions) != 1 else ''} ({numbers.spans(g.positions)}). "
        f"<span class='small'>E.g. slice {numbers.number(g.example_position)}: "
        f"{text(g.example)}.</span></li>"
        for g in groups
    )
    return Block(f"<h2>Why slices are in review</h2><ul>{items}</ul>")


def signoff_block(data: ReportData, text: Text) -> Block:
    record = data.case_review
    tally = Counter(r.decision.value for r in data.decisions.values())
    slices = ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items()))
    on_slices = (f"Slice decisions recorded: {len(data.decisions)} ({slices})."
                 if data.decisions else "No slice decision recorded.")
    if record is None:
        body = (
            "<p><b>Not signed off</b>: no reviewer has recorded a decision on this case in "
            f"bvae-viewer. {on_slices}</p>"
            "<p>Reviewed by: ______________________________ &nbsp; "
            "Date: ________________ &nbsp; Decision: ________________</p>"
        )
    else:
        note = f" Note: “{text(record.note)}”." if record.note else ""
        body = (
            f"<p>Reviewer's decision on the case: {decision_html(record.decision.value)} "
            f"(the model said {html.escape(record.model_decision)}).</p>"
            f"<p>Signed off by <b>{text(record.reviewer)}</b> on "
            f"{html.escape(when(record.made_at))}.{note} {on_slices}</p>"
        )
    return Block(f"<h2>Reviewer's sign-off</h2>{body}")


def model_block(data: ReportData) -> Block:
    samples = data.result.extra.get("samples")
    k = f", K = {samples} latent samples" if samples else ""
    return Block(
        f"<p class='small'>Model {html.escape(data.model_name)} (sha256 "
        f"<tt>{html.escape(data.model_sha256[:16])}</tt>), "
        f"{html.escape(method_of(data.method).display_name)}, bvae-viewer "
        f"{html.escape(data.app_version)}, on "
        f"{html.escape(data.device)}{k}. {NUMBERING_NOTE} The numbers behind this page are in "
        f"the appendix.</p><p><b style='color:#a00000'>{html.escape(RESEARCH_ONLY)}</b></p>"
    )


def page_one(data: ReportData, text: Text, include_identifiers: bool) -> list[Block]:
    blocks = [
        title_block(data, text, include_identifiers),
        conclusion_block(data, text),
        findings_block(data, text),
        review_block(data, text),
        signoff_block(data, text),
        model_block(data),
    ]
    return [b for b in blocks if b is not None]
