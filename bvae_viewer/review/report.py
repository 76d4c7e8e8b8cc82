"""Reports of a reviewed case: HTML (also the source of the PDF), CSV and JSON.

Patient identifiers (name, ID, birth date, accession, institution, study date) appear only
when the caller passes include_identifiers=True; everything else is de-identified by design.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg

from bvae_viewer.analysis.case import CaseResult, json_safe
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.review.store import DecisionRecord

RESEARCH_ONLY = (
    "Research use only. Not a medical device. The model was trained on synthetic data; "
    "its output is not a diagnosis."
)
# (title, MapSet attribute, colour map, levels key)
PANELS = (
    ("Original", "original", "gray", None),
    ("Reconstruction", "reconstruction", "gray", None),
    ("Aleatoric", "aleatoric", "magma", "aleatoric"),
    ("Epistemic", "epistemic", "magma", "epistemic"),
    ("Total uncertainty", "total", "magma", "total"),
    ("Error", "error", "inferno", "error"),
)


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, gathered by the caller (CLI or window)."""

    case_label: str  # e.g. the file name; never a patient name
    case_hash: str
    result: CaseResult
    maps: dict[int, MapSet]  # slice index -> maps, for flagged and reviewed slices
    map_levels: dict[str, tuple[float, float]]
    model_name: str
    model_sha256: str
    device: str
    metadata: VolumeMetadata
    decisions: dict[int, DecisionRecord] = field(default_factory=dict)  # reviewer's, by slice
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


def reported_slices(data: ReportData) -> list[int]:
    """Flagged and review slices, and any slice a reviewer decided on, in slice order."""
    chosen = {
        s.slice_index
        for s, d in zip(data.result.scores, data.result.decisions, strict=True)
        if d in (Decision.FLAGGED, Decision.REVIEW)
    }
    return sorted(chosen | set(data.decisions))


def _png_data_uri(image: Any, cmap: str, levels: tuple[float, float] | None) -> str:
    lo, hi = levels if levels else (0.0, 1.0)
    buf = io.BytesIO()
    mpimg.imsave(buf, image, cmap=cmap, vmin=lo, vmax=hi, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(value: float, digits: int = 4) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}g}")
    )


def _identity_rows(identity: PatientIdentity) -> list[tuple[str, str]]:
    labels = {
        "patient_name": "Patient name",
        "patient_id": "Patient ID",
        "birth_date": "Birth date",
        "accession_number": "Accession number",
        "institution": "Institution",
        "study_date": "Study date",
    }
    return [(labels[k], v) for k, v in vars(identity).items() if v]


def render_html(data: ReportData, include_identifiers: bool = False) -> str:
    """A self-contained HTML report (images inlined); Qt's PDF writer prints the same HTML."""
    e = html.escape
    res = data.result
    counts = ", ".join(f"{k}: {v}" for k, v in res.case.counts.items())
    rows = [
        ("Case", e(data.case_label)),
        ("Case fingerprint", e(data.case_hash[:16])),
        ("Decision", f"<b>{e(res.case.decision.value.upper())}</b>"),
        ("Reasons", e("; ".join(res.case.reasons) or "-")),
        ("Slices", e(counts)),
        (
            "Thresholds",
            e(
                f"anomaly score > {_fmt(res.policy.score_threshold)}, "
                f"uncertainty > {_fmt(res.policy.uncertainty_threshold)}"
            ),
        ),
        ("Model", e(f"{data.model_name} (sha256 {data.model_sha256[:12]})")),
        ("Device", e(data.device)),
        ("Modality / format", e(f"{data.metadata.modality or '-'} / {data.metadata.format}")),
        ("Report created", e(data.created_at)),
    ]
    if include_identifiers:
        rows += [(k, e(v)) for k, v in _identity_rows(data.identity)]
    parts = [
        "<html><head><meta charset='utf-8'><title>bvae-viewer report</title>",
        "<style>body{font-family:sans-serif;font-size:10pt} td,th{padding:2px 6px}"
        " .warn{color:#a00;font-weight:bold} img{width:110px;height:110px}</style></head><body>",
        "<h2>bvae-viewer case report</h2>",
        f"<p class='warn'>{e(RESEARCH_ONLY)}</p>",
        "<table border='0'>",
        *[f"<tr><th align='left'>{k}</th><td>{v}</td></tr>" for k, v in rows],
        "</table>",
    ]
    by_index = {s.slice_index: (s, d) for s, d in zip(res.scores, res.decisions, strict=True)}
    slices = reported_slices(data)
    parts.append(f"<h3>Flagged and reviewed slices ({len(slices)})</h3>")
    for index in slices:
        scores, decision = by_index[index]
        reviewer = data.decisions.get(index)
        verdict = (
            f"{e(reviewer.decision.value)} by {e(reviewer.reviewer)}"
            + (f": {e(reviewer.note)}" if reviewer.note else "")
            if reviewer
            else "not reviewed"
        )
        parts.append(
            f"<h4>Slice {index}: model {e(decision.value)}; reviewer {verdict}</h4>"
            f"<p>anomaly score {_fmt(scores.anomaly_score)}, reconstruction error "
            f"{_fmt(scores.recon_error)}, uncertainty total {_fmt(scores.unc_total)} "
            f"(epistemic {_fmt(scores.unc_epistemic)}, aleatoric {_fmt(scores.unc_aleatoric)})</p>"
        )
        maps = data.maps.get(index)
        if maps is None:
            continue
        cells = []
        for title, attr, cmap, key in PANELS:
            levels = data.map_levels.get(key) if key else (0.0, 1.0)
            uri = _png_data_uri(getattr(maps, attr), cmap, levels)
            cells.append(
                f"<td align='center'><img src='{uri}' width='110' height='110'><br>{e(title)}</td>"
            )
        parts.append("<table><tr>" + "".join(cells) + "</tr></table>")
    parts.append(f"<p class='warn'>{e(RESEARCH_ONLY)}</p></body></html>")
    return "\n".join(parts)


def summary_dict(data: ReportData, include_identifiers: bool = False) -> dict[str, Any]:
    """The JSON report."""
    res = data.result
    slices = []
    by_index = {s.slice_index: (s, d) for s, d in zip(res.scores, res.decisions, strict=True)}
    for index in reported_slices(data):
        scores, decision = by_index[index]
        reviewer = data.decisions.get(index)
        slices.append(
            {
                "slice": index,
                "model_decision": decision.value,
                "anomaly_score": scores.anomaly_score,
                "recon_error": scores.recon_error,
                "unc_total": scores.unc_total,
                "unc_epistemic": scores.unc_epistemic,
                "unc_aleatoric": scores.unc_aleatoric,
                "reviewer_decision": reviewer.decision.value if reviewer else None,
                "reviewer": reviewer.reviewer if reviewer else None,
                "note": reviewer.note if reviewer else None,
            }
        )
    out: dict[str, Any] = {
        "case": data.case_label,
        "case_fingerprint": data.case_hash,
        "decision": res.case.decision.value,
        "reasons": list(res.case.reasons),
        "counts": res.case.counts,
        "thresholds": {
            "score": res.policy.score_threshold,
            "uncertainty": res.policy.uncertainty_threshold,
        },
        "model": {"name": data.model_name, "sha256": data.model_sha256},
        "device": data.device,
        "created_at": data.created_at,
        "notice": RESEARCH_ONLY,
        "slices": slices,
    }
    if include_identifiers:
        out["patient"] = {k: v for k, v in vars(data.identity).items() if v}
    return json_safe(out)


def _atomic_write(path: Path, write: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_html(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    text = render_html(data, include_identifiers)
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    text = json.dumps(summary_dict(data, include_identifiers), indent=2)
    _atomic_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_csv(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    rows: Sequence[dict[str, Any]] = summary_dict(data, include_identifiers)["slices"]
    columns = [
        "slice",
        "model_decision",
        "anomaly_score",
        "recon_error",
        "unc_total",
        "unc_epistemic",
        "unc_aleatoric",
        "reviewer_decision",
        "reviewer",
        "note",
    ]

    def write(p: Path) -> None:
        with open(p, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    _atomic_write(path, write)
