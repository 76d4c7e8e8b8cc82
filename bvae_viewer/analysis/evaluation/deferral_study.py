"""What should order the review queue? Every candidate order of the slices, measured alike.

Error-probability models (analysis.deferral) are fitted on validation subjects; every order
is measured on held-out subjects: AURC with subject-bootstrap intervals, E-AURC, error at
80/90 % coverage, abnormal slices sent to review at 10/20 % review, and the paired AURC gain
over the score margin. An error is an automatic decision (flagged above the shipped
threshold, else normal) that disagrees with the slice's tumour label. Plain numpy: the
signals come from nn.evaluation.deferral_signals (the app's own engine and score).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from bvae_viewer.analysis.deferral import (
    LOG_MARGIN,
    ErrorModel,
    fit_error_model,
    log_margin,
    review_cutoff,
)
from bvae_viewer.analysis.evaluation.abstention import (
    excess_aurc,
    risk_coverage,
    selective_metrics,
)
from bvae_viewer.analysis.evaluation.bootstrap import aurc_gain, aurc_intervals
from bvae_viewer.analysis.triage import TriagePolicy

Signals = dict[str, np.ndarray]  # subject, label, score, unc, view_spread: one per slice
MARGIN = "score margin -|log(s/t)|"
POLICY = "today's policy (band + uncertainty threshold, then margin)"
SIGNAL_SETS = (
    ("margin", (LOG_MARGIN,)),
    ("margin + view spread", (LOG_MARGIN, "view_spread")),
    ("margin + uncertainty", (LOG_MARGIN, "log_unc")),
)


def with_errors(d: Signals, policy: TriagePolicy) -> Signals:
    """The automatic decision of every slice and whether it is wrong."""
    out = dict(d)
    out["pred"] = np.asarray(d["score"]) > policy.score_threshold
    out["err"] = out["pred"] != np.asarray(d["label"], dtype=bool)
    return out


def signals(d: Signals, threshold: float) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_unc = np.log(np.asarray(d["unc"], dtype=float))
    return {LOG_MARGIN: log_margin(d["score"], threshold),
            "view_spread": np.asarray(d["view_spread"], dtype=float), "log_unc": log_unc}


def orders(val: Signals, test: Signals, policy: TriagePolicy) -> dict[str, np.ndarray]:
    """Each candidate's priority per test slice (higher: to review first)."""
    t = policy.score_threshold
    sv, st = signals(val, t), signals(test, t)
    review_now = review_mask(test, policy)
    out = {
        "random": np.random.default_rng(0).random(test["err"].size),
        "mean total uncertainty": np.asarray(test["unc"], dtype=float),
        "view spread (3 TTA views)": np.nan_to_num(st["view_spread"]),
        MARGIN: -st[LOG_MARGIN],
        POLICY: review_now * 10.0 - st[LOG_MARGIN],
    }
    for label, features in SIGNAL_SETS:
        if all(np.isfinite(sv[f]).any() for f in features):
            model = fit_error_model(sv, val["err"], features)
            out[f"error probability ({label})"] = model.probability(st)
    out["oracle"] = test["err"].astype(float)
    return out


def table(test: Signals, pri: Mapping[str, np.ndarray], n_boot: int = 1000) -> list[dict]:
    err, subjects = test["err"], test["subject"]
    ci = aurc_intervals(err, dict(pri), subjects, n_boot=n_boot)
    rows = []
    for name, p in pri.items():
        rc = risk_coverage(err, p)
        n = len(rc.risk)
        gain = None if name == "oracle" else aurc_gain(err, p, pri[MARGIN], subjects,
                                                        n_boot=n_boot)
        rows.append({
            "order": name, "aurc": ci[name].value, "aurc_ci": [ci[name].low, ci[name].high],
            "e_aurc": excess_aurc(err, p),
            "error_at_80": float(rc.risk[max(0, int(0.8 * n) - 1)]),
            "error_at_90": float(rc.risk[max(0, int(0.9 * n) - 1)]),
            "abnormal_to_review_10":
                selective_metrics(test["label"], test["pred"], p, 0.10).abnormal_in_review,
            "abnormal_to_review_20":
                selective_metrics(test["label"], test["pred"], p, 0.20).abnormal_in_review,
            "gain_vs_margin": None if gain is None else [gain.value, gain.low, gain.high],
        })
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| order | AURC (95 % CI) | E-AURC | error @80 % coverage | @90 % | abnormal "
             "to review @10 % review | @20 % | AURC gain over the margin (95 % CI) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r["gain_vs_margin"]
        gain = "—" if g is None else f"{g[0]:+.4f} ({g[1]:+.4f}, {g[2]:+.4f})"
        lines.append(
            f"| {r['order']} | {r['aurc']:.3f} ({r['aurc_ci'][0]:.3f}-{r['aurc_ci'][1]:.3f}) "
            f"| {r['e_aurc']:.3f} | {r['error_at_80']:.3f} | {r['error_at_90']:.3f} "
            f"| {r['abnormal_to_review_10']:.2f} | {r['abnormal_to_review_20']:.2f} | {gain} |")
    return "\n".join(lines)


def queue_error_model(val: Signals, policy: TriagePolicy) -> ErrorModel:
    """The error model the review queue ships with: the margin's, its review cutoff at the
    share of validation slices today's policy sends to review (the queue keeps its size)."""
    sv = signals(val, policy.score_threshold)
    model = fit_error_model(sv, val["err"], (LOG_MARGIN,))
    budget = review_share(val, policy)
    return replace(model, review_cutoff=review_cutoff(model.probability(sv), budget))


def review_mask(d: Signals, policy: TriagePolicy) -> np.ndarray:
    """The slices today's policy sends to review (the band around the line, or uncertainty)."""
    return (d["unc"] > policy.uncertainty_threshold) | policy.near_line_mask(d["score"])


def review_share(d: Signals, policy: TriagePolicy) -> float:
    return float(np.mean(review_mask(d, policy)))
