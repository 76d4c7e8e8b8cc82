"""A whole analysed case: slice scores, decisions, the OOD check and the case call."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.ood import VolumeFeatures, features_dict, ood_reasons, volume_features
from bvae_viewer.analysis.triage import CaseDecision, Decision, TriagePolicy
from bvae_viewer.data.preprocess import SliceStack

SLICE_COLUMNS = (
    "slice",
    "anomaly_score",
    "recon_error",
    "pixel_score_mean",
    "pixel_score_peak",
    "unc_total",
    "unc_epistemic",
    "unc_aleatoric",
    "latent_nll",
    "brain_fraction",
    "decision",
)


@dataclass(frozen=True)
class CaseResult:
    scores: tuple[SliceScores, ...]  # one per axial slice, in slice order
    decisions: tuple[Decision, ...]
    case: CaseDecision
    features: VolumeFeatures
    policy: TriagePolicy
    extra: dict[str, Any] = field(default_factory=dict)  # model, device, timings, source


def assess_case(
    stack: SliceStack,
    scores: Sequence[SliceScores],
    calibration: Calibration,
    policy: TriagePolicy | None = None,
) -> CaseResult:
    """Triage every slice and the case; thresholds may differ from the calibrated ones."""
    ordered = tuple(sorted(scores, key=lambda s: s.slice_index))
    policy = policy or TriagePolicy.from_calibration(calibration)
    features = volume_features(stack, ordered)
    reasons = ood_reasons(features, calibration.ood)
    decisions = tuple(policy.decide_slice(s) for s in ordered)
    if reasons:
        # Nothing in an out-of-distribution volume is auto-cleared.
        decisions = tuple(Decision.REVIEW if d == Decision.NORMAL else d for d in decisions)
    return CaseResult(ordered, decisions, policy.decide_case(ordered, reasons), features, policy)


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"


def write_slices_csv(result: CaseResult, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(SLICE_COLUMNS)
        for s, d in zip(result.scores, result.decisions, strict=True):
            writer.writerow(
                [
                    s.slice_index,
                    _fmt(s.anomaly_score),
                    _fmt(s.recon_error),
                    _fmt(s.pixel_score_mean),
                    _fmt(s.pixel_score_peak),
                    _fmt(s.unc_total),
                    _fmt(s.unc_epistemic),
                    _fmt(s.unc_aleatoric),
                    _fmt(s.latent_nll),
                    f"{s.brain_fraction:.4f}",
                    d.value,
                ]
            )


def case_summary(result: CaseResult) -> dict[str, Any]:
    """The case.json content (no patient identifiers)."""
    brain = [s for s in result.scores if not s.empty]
    top = max(brain, key=lambda s: s.anomaly_score, default=None)
    return {
        "decision": result.case.decision.value,
        "reasons": list(result.case.reasons),
        "counts": result.case.counts,
        "max_anomaly_score": top.anomaly_score if top else None,
        "max_anomaly_slice": top.slice_index if top else None,
        "mean_anomaly_score": (sum(s.anomaly_score for s in brain) / len(brain)) if brain else None,
        "thresholds": policy_thresholds(result.policy),
        "volume_features": features_dict(result.features),
        **result.extra,
    }


def policy_thresholds(policy: TriagePolicy) -> dict[str, float]:
    """The rules a case was decided by, as case.json and the JSON report record them."""
    return {
        "score": policy.score_threshold,
        "uncertainty": policy.uncertainty_threshold,
        "min_flagged_run": policy.min_flagged_run,
        "case_score_factor": policy.case_score_factor,
        "review_run": policy.review_run,
        "review_score_factor": policy.review_score_factor,
        "review_band": policy.review_band,
        "max_review_fraction": policy.max_review_fraction,
    }


def json_safe(value: Any) -> Any:
    """NaN and infinities become null: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_case_outputs(result: CaseResult, out_dir: Path) -> None:
    """Write slices.csv and case.json; a crash leaves the old folder or none, never half a one."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_slices_csv(result, staging / "slices.csv")
        (staging / "case.json").write_text(
            json.dumps(json_safe(case_summary(result)), indent=2, default=str) + "\n",
            encoding="utf-8",
        )
        if not out_dir.exists():
            os.replace(staging, out_dir)
            return
        for item in staging.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
