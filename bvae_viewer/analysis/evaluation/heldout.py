"""The given model on every case it never saw, whole volumes as `analyze` runs them: slice
ROC AUC per case and pooled, and the case calls (what scripts/heldout_eval.py measured
by running `analyze` on each case)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from bvae_viewer.analysis.case import CaseResult
from bvae_viewer.analysis.triage import Decision

GOAL_AUC = 0.90  # the project's goal for a held-out case's slice ROC AUC


@dataclass(frozen=True)
class HeldoutCase:
    """One unseen case through the app: its slice labels and its CaseResult."""

    case_id: str
    labels: np.ndarray  # (Z,) bool, any tumour voxel in the slice, in slice order
    result: CaseResult


def _brain(case: HeldoutCase) -> tuple[np.ndarray, np.ndarray]:
    keep = np.array([d != Decision.EMPTY for d in case.result.decisions], dtype=bool)
    scores = np.array([s.anomaly_score for s in case.result.scores], dtype=float)
    return np.asarray(case.labels, dtype=bool)[keep], scores[keep]


def heldout_summary(cases: Sequence[HeldoutCase]) -> dict[str, Any]:
    """Per case (tumour and brain slices, the case call, its slice ROC AUC where both kinds
    of slice occur), the per-case median, pooled ROC / PR AUC and the case calls."""
    rows, labels, scores = [], [], []
    for case in cases:
        y, s = _brain(case)
        row: dict[str, Any] = {
            "case": case.case_id,
            "tumour_slices": int(y.sum()),
            "brain_slices": len(y),
            "case_decision": case.result.case.decision.value,
        }
        if 0 < y.sum() < len(y) and np.isfinite(s).all():
            row["slice_roc_auc"] = round(float(roc_auc_score(y, s)), 4)
        rows.append(row)
        labels.append(y)
        scores.append(s)
    y = np.concatenate(labels) if labels else np.zeros(0, bool)
    s = np.concatenate(scores) if scores else np.zeros(0)
    per_case = [r["slice_roc_auc"] for r in rows if "slice_roc_auc" in r]
    both = 0 < y.sum() < len(y) and np.isfinite(s).all()
    tumour = [r for r in rows if r["tumour_slices"] > 0]
    healthy = [r for r in rows if r["tumour_slices"] == 0]
    return {
        "cases": rows,
        "per_case_slice_roc_auc": {
            "median": round(float(np.median(per_case)), 4) if per_case else None,
            f"at_least_{GOAL_AUC:.2f}": sum(a >= GOAL_AUC for a in per_case),
            "cases": len(per_case),
        },
        "pooled_slice_roc_auc": round(float(roc_auc_score(y, s)), 4) if both else None,
        "pooled_slice_pr_auc": round(float(average_precision_score(y, s)), 4) if both else None,
        "tumour_cases_flagged": sum(r["case_decision"] == "flagged" for r in tumour),
        "tumour_cases": len(tumour),
        "healthy_cases_normal": sum(r["case_decision"] == "normal" for r in healthy),
        "healthy_cases": len(healthy),
    }


def heldout_section(rows: dict[str, Any]) -> list[str]:
    """The report's lines on the given model's unseen cases (none if it did not run)."""
    h = rows.get("bundled", {}).get("heldout")
    if not h:
        return []
    per_case = h["per_case_slice_roc_auc"]

    def num(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    return [
        "## The given model on every case it never saw",
        "",
        f"Whole volumes through the app's engine and triage, as `analyze` runs them: "
        f"{len(h['cases'])} cases. Slice ROC AUC per case: median {num(per_case['median'])} "
        f"({per_case[f'at_least_{GOAL_AUC:.2f}']} of {per_case['cases']} at least "
        f"{GOAL_AUC:.2f}); pooled over cases {num(h['pooled_slice_roc_auc'])} "
        f"(PR AUC {num(h['pooled_slice_pr_auc'])}). Case calls: "
        f"{h['tumour_cases_flagged']} of {h['tumour_cases']} tumour cases flagged, "
        f"{h['healthy_cases_normal']} of {h['healthy_cases']} healthy ones called normal.",
        "",
    ]
