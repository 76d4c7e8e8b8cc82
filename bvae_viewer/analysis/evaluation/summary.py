"""One row of the evaluation: test slices + operating point -> every number the report shows."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from bvae_viewer.analysis.evaluation.abstention import (
    excess_aurc,
    oracle_aurc,
    risk_coverage,
    score_margin_priority,
    selective_metrics,
    selective_reviewed,
)
from bvae_viewer.analysis.evaluation.slices import OperatingPoint, ScoredSlices
from bvae_viewer.analysis.metrics import slice_metrics

REVIEW_FRACTIONS = (0.1, 0.2, 0.3)
QUINTILES = 5


def safe_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC, or None where it is undefined (one class only, or no finite score)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    if labels.all() or not labels.any() or not np.isfinite(scores).all():
        return None
    return float(roc_auc_score(labels, scores))


def _rate(hits: np.ndarray, of: np.ndarray) -> float | None:
    return float((hits & of).sum() / of.sum()) if of.any() else None


def detection(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Table 1: ROC/PR AUC, class means, the F1-optimal threshold on these slices, and the
    sensitivity/specificity at the threshold chosen on validation."""
    out = slice_metrics(labels, scores)
    predicted = scores > threshold
    out["threshold"] = threshold
    out["sensitivity"] = _rate(predicted, labels)
    out["specificity"] = _rate(~predicted, ~labels)
    return out


def by_uncertainty(test: ScoredSlices, op: OperatingPoint) -> dict[str, Any]:
    """ROC AUC of each uncertainty as a detector, and of the error divided by each one.

    The paper's "ROC by uncertainty type" (total, aleatoric, epistemic, combined) is read
    as the first: the mean uncertainty of a slice used as its anomaly score; the second
    (error / U) is kept beside it because the paper does not say which it meant.
    """
    labels = test.labels
    return {
        "as_score": {
            "total": safe_auc(labels, test.unc_total),
            "aleatoric": safe_auc(labels, test.unc_aleatoric),
            "epistemic": safe_auc(labels, test.unc_epistemic),
        },
        "error_over": {
            "total": safe_auc(labels, test.pixel_score),
            "aleatoric": safe_auc(labels, test.pixel_score_ale),
            "epistemic": safe_auc(labels, test.pixel_score_epi),
        },
        "combined": safe_auc(labels, op.scores(test)),
    }


def quintile_table(
    labels: np.ndarray, scores: np.ndarray, uncertainty: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """Slices split into five equal groups by uncertainty: is the model wrong where unsure?

    Groups are equal-count cuts of the uncertainty ranking (stable order), so a constant
    uncertainty still gives five groups; ``constant`` in each row says so.
    """
    labels = np.asarray(labels, dtype=bool)
    unc = np.asarray(uncertainty, dtype=float)
    if not np.isfinite(unc).any():
        return []
    errors = (scores > threshold) != labels
    order = np.argsort(np.where(np.isfinite(unc), unc, np.inf), kind="stable")
    constant = bool(np.nanmax(unc) == np.nanmin(unc))
    rows = []
    for q, idx in enumerate(np.array_split(order, QUINTILES), start=1):
        if idx.size == 0:
            continue
        lab = labels[idx]
        rows.append(
            {
                "quintile": q,
                "n": int(idx.size),
                "uncertainty_min": float(np.nanmin(unc[idx])),
                "uncertainty_max": float(np.nanmax(unc[idx])),
                "abnormal_fraction": float(lab.mean()),
                "error_rate": float(errors[idx].mean()),
                "roc_auc": safe_auc(lab, scores[idx]),
                "mean_score_normal": float(scores[idx][~lab].mean()) if (~lab).any() else None,
                "mean_score_abnormal": float(scores[idx][lab].mean()) if lab.any() else None,
                "constant": constant,
            }
        )
    return rows


def abstention(test: ScoredSlices, op: OperatingPoint) -> dict[str, Any]:
    """AURC / excess AURC and sensitivity/specificity at fixed review fractions, deferring by
    uncertainty and by the score alone, plus the app's policy (TriagePolicy) as calibrated."""
    scores = op.scores(test)
    predicted = scores > op.score_threshold
    errors = predicted != test.labels
    priorities = {"score": score_margin_priority(scores, op.score_threshold)}
    if test.has_uncertainty:
        priorities = {"uncertainty": test.unc_total, **priorities}
    out: dict[str, Any] = {
        "error_rate": float(errors.mean()),
        "oracle_aurc": oracle_aurc(errors),
        "by": {},
    }
    for name, priority in priorities.items():
        curve = risk_coverage(errors, priority)
        out["by"][name] = {
            "aurc": curve.aurc,
            "excess_aurc": excess_aurc(errors, priority),
            "selective": [
                asdict(selective_metrics(test.labels, predicted, priority, f))
                for f in (0.0, *REVIEW_FRACTIONS)
            ],
        }
    if op.f1_threshold is not None:
        out["balanced"] = _balanced(test, scores, op.f1_threshold)
    if test.has_uncertainty:
        out["policy"] = asdict(selective_reviewed(test.labels, predicted, op.reviewed(test)))
    return out


def _balanced(test: ScoredSlices, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """AURC at the F1-optimal validation threshold: does the comparison hold off 97 %?"""
    errors = (scores > threshold) != test.labels
    priorities = {"score": score_margin_priority(scores, threshold)}
    if test.has_uncertainty:
        priorities["uncertainty"] = test.unc_total
    return {
        "threshold": threshold,
        "error_rate": float(errors.mean()),
        "oracle_aurc": oracle_aurc(errors),
        "aurc": {k: risk_coverage(errors, p).aurc for k, p in priorities.items()},
    }


def summarise_row(test: ScoredSlices, op: OperatingPoint) -> dict[str, Any]:
    """Everything about one row's test slices (JSON-able)."""
    scores = op.scores(test)
    out: dict[str, Any] = {
        "operating_point": asdict(op),
        "n_cases": len(set(test.case_ids.tolist())),
        "reconstruction_skill": test.reconstruction_skill(),
        "detection": detection(test.labels, scores, op.score_threshold),
        "abstention": abstention(test, op),
    }
    if test.has_uncertainty:
        out["by_uncertainty"] = by_uncertainty(test, op)
        out["quintiles"] = quintile_table(test.labels, scores, test.unc_total, op.score_threshold)
    return out


def curves(test: ScoredSlices, op: OperatingPoint) -> dict[str, Any]:
    """Risk-coverage curves (uncertainty, score, oracle) for the plots."""
    scores = op.scores(test)
    errors = (scores > op.score_threshold) != test.labels
    out = {
        "score": risk_coverage(errors, score_margin_priority(scores, op.score_threshold)),
        "oracle": risk_coverage(errors, errors.astype(float)),
    }
    if test.has_uncertainty:
        out["uncertainty"] = risk_coverage(errors, test.unc_total)
    return out
