"""The report as data: a JSON document and a CSV table (one row for the case, one per slice)."""

from __future__ import annotations

from typing import Any

from bvae_viewer.analysis.case import json_safe, policy_thresholds
from bvae_viewer.analysis.findings import Finding
from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.review.deid import redact
from bvae_viewer.review.report_data import (
    RESEARCH_ONLY,
    ReportData,
    reported_slices,
    thumbnail_slices,
)
from bvae_viewer.review.report_names import case_name
from bvae_viewer.review.store import DecisionRecord

CSV_COLUMNS = (
    "level",  # "case" (first row) or "slice"
    "slice",
    "input_slice",  # the input's own axial slice, counted from 1 as a viewer does
    "model_decision",
    "anomaly_score",
    "recon_error",
    "unc_total",
    "unc_epistemic",
    "unc_aleatoric",
    "reviewer_decision",
    "reviewer",
    "note",
    "decided_at",
    "case",
    "case_fingerprint",
    "score_threshold",
    "uncertainty_threshold",
    "flagged",
    "review",
    "normal",
    "empty",
    "model",
    "model_sha256",
    "device",
    "created_at",
    "notice",
)
IDENTITY_COLUMNS = (
    "patient_name",
    "patient_id",
    "birth_date",
    "accession_number",
    "institution",
    "study_date",
)


def _review(record: DecisionRecord | None, clean) -> dict[str, Any]:
    if record is None:
        return {"reviewer_decision": None, "reviewer": None, "note": None, "decided_at": None}
    return {
        "reviewer_decision": record.decision.value,
        "reviewer": clean(record.reviewer),
        "note": clean(record.note),
        "decided_at": record.made_at,
    }


def _cleaner(data: ReportData, include_identifiers: bool):
    if include_identifiers:
        return lambda text: text
    return lambda text: redact(text, data.identity)


def _finding(f: Finding, numbers: SliceNumbering) -> dict[str, Any]:
    return {
        "number": f.number,
        "side": f.side,
        "input_slices": [f.input_slices[0] + 1, f.input_slices[1] + 1],
        "flagged_slices": len(f.flagged),
        "extent_mm": list(f.extent_mm),
        "centre_mm": list(f.centre_mm),
        "peak_input_slice": numbers.number(f.peak_position),
        "peak_score": f.peak_score,
        "region_ml": f.region_ml,
        "description": f.describe(),
    }


def summary_dict(data: ReportData, include_identifiers: bool = False) -> dict[str, Any]:
    """The JSON report."""
    clean = _cleaner(data, include_identifiers)
    res = data.result
    by_index = {s.slice_index: (s, d) for s, d in zip(res.scores, res.decisions, strict=True)}
    with_maps = set(thumbnail_slices(data))
    numbers = data.numbers()
    slices = []
    for index in reported_slices(data):
        scores, decision = by_index[index]
        slices.append(
            {
                "slice": index,
                "input_slice": numbers.number(index),
                "z_mm": numbers.mm(index),
                "model_decision": decision.value,
                "own_decision": res.policy.decide_slice(scores).value,
                "anomaly_score": scores.anomaly_score,
                "recon_error": scores.recon_error,
                "unc_total": scores.unc_total,
                "unc_epistemic": scores.unc_epistemic,
                "unc_aleatoric": scores.unc_aleatoric,
                "brain_fraction": scores.brain_fraction,
                **_review(data.decisions.get(index), clean),
                "maps_in_report": index in with_maps,
            }
        )
    meta = data.metadata
    out: dict[str, Any] = {
        "report": "bvae-viewer case report",
        "app_version": data.app_version,
        "notice": RESEARCH_ONLY,
        "created_at": data.created_at,
        "case": clean(case_name(data.case_label, data.identity, data.case_hash,
                                include_identifiers)),
        "case_fingerprint": data.case_hash,
        "series": {
            "format": meta.format,
            "modality": meta.modality,
            "description": clean(meta.series_description),
        },
        "decision": res.case.decision.value,
        "reasons": [clean(r) for r in res.case.reasons],
        "counts": res.case.counts,
        "case_review": _review(data.case_review, clean) if data.case_review else None,
        "thresholds": policy_thresholds(res.policy),
        "model": {"name": data.model_name, "sha256": data.model_sha256},
        "device": data.device,
        "map_levels": {k: list(v) for k, v in data.map_levels.items()},
        "radiological": data.radiological,
        "volume": vars(data.volume) if data.volume else None,
        "findings": [_finding(f, numbers) for f in data.findings],
        "slices": slices,
    }
    if include_identifiers:
        out["patient"] = {k: v for k, v in vars(data.identity).items() if v}
    return json_safe(out)


def csv_rows(data: ReportData, include_identifiers: bool = False) -> tuple[list[str], list[dict]]:
    """Columns and rows of the CSV report: the case first, then each reported slice."""
    doc = summary_dict(data, include_identifiers)
    case_columns = {
        "case": doc["case"],
        "case_fingerprint": doc["case_fingerprint"],
        "score_threshold": doc["thresholds"]["score"],
        "uncertainty_threshold": doc["thresholds"]["uncertainty"],
        "model": doc["model"]["name"],
        "model_sha256": doc["model"]["sha256"],
        "device": doc["device"],
        "created_at": doc["created_at"],
        "notice": doc["notice"],
    }
    if include_identifiers:
        case_columns |= {k: getattr(data.identity, k) for k in IDENTITY_COLUMNS}
    case_row = {
        "level": "case",
        "model_decision": doc["decision"],
        **{k: doc["counts"].get(k, 0) for k in ("flagged", "review", "normal", "empty")},
        **(doc["case_review"] or {}),
        **case_columns,
    }
    rows = [case_row]
    for s in doc["slices"]:
        row = {k: v for k, v in s.items() if k in CSV_COLUMNS}
        rows.append({"level": "slice", **row, **case_columns})
    columns = list(CSV_COLUMNS) + (list(IDENTITY_COLUMNS) if include_identifiers else [])
    return columns, rows
