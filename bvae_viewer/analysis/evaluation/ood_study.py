"""Does member disagreement tell brains unlike the training data from those like it better
than today's checks? (issue 20, part 3)

Each analysed volume gives one record: whether it is out of distribution (another contrast,
a head with skull, strong noise, an unseen anatomy) or a held-out subject like the training
data, the volume-level signals the app already checks (analysis.ood: brain volume,
intensity histogram, latent NLL, reconstruction error, uncertainty; and how many of those
checks fire) and the ensemble's disagreement (the median over brain slices of the spread of
the members' slice scores, nn.voices). The study reports, per signal, the ROC AUC of
separating the two groups, pooled and per kind of input. Plain numpy and scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.ood import VolumeFeatures, histogram_distance, ood_reasons

IN_DISTRIBUTION = "held-out subjects"
# Signal -> what the table calls it; larger means "more unlike the training data".
SIGNALS = {
    "checks_fired": "today's checks: how many fire",
    "brain_ml_off": "foreground volume outside the validation range (ml beyond it)",
    "histogram_distance": "intensity histogram distance",
    "latent_nll": "latent NLL (median over slices)",
    "recon_error": "reconstruction error (median)",
    "unc_total": "total uncertainty (median)",
    "disagreement": "ensemble disagreement (median spread of member scores)",
}


@dataclass(frozen=True)
class VolumeRecord:
    """One analysed volume of the study."""

    name: str
    kind: str  # IN_DISTRIBUTION, or the kind of out-of-distribution input
    signals: dict[str, float]

    @property
    def ood(self) -> bool:
        return self.kind != IN_DISTRIBUTION


def disagreement(scores: Sequence[SliceScores]) -> float:
    """Median over brain slices of the members' score spread (NaN with one member)."""
    spreads = [s.score_spread for s in scores if not s.empty and math.isfinite(s.score_spread)]
    return float(np.median(spreads)) if spreads else math.nan


def volume_signals(
    features: VolumeFeatures, scores: Sequence[SliceScores], reference: dict[str, Any]
) -> dict[str, float]:
    """Every signal of one volume, against the model's validation reference."""
    lo, hi = reference.get("brain_ml_range", (math.nan, math.nan))
    ml = features.brain_ml
    off = max(0.0, lo - ml, ml - hi) if math.isfinite(lo) and math.isfinite(hi) else math.nan
    histogram = reference.get("histogram")
    return {
        "checks_fired": float(len(ood_reasons(features, reference))),
        "brain_ml_off": float(off),
        "histogram_distance": (histogram_distance(features.histogram, histogram)
                               if histogram is not None else math.nan),
        "latent_nll": float(features.latent_nll),
        "recon_error": float(features.recon_error),
        "unc_total": float(features.unc_total),
        "disagreement": disagreement(scores),
    }


def _auc(records: Sequence[VolumeRecord], signal: str) -> float | None:
    labels = np.array([r.ood for r in records])
    values = np.array([r.signals.get(signal, math.nan) for r in records], dtype=float)
    keep = np.isfinite(values)
    if keep.sum() < 2 or len(set(labels[keep].tolist())) < 2:
        return None
    return float(roc_auc_score(labels[keep], values[keep]))


def table(records: Sequence[VolumeRecord]) -> list[dict[str, Any]]:
    """Per signal: the AUC of OOD against held-out subjects, pooled and per kind."""
    kinds = sorted({r.kind for r in records if r.ood})
    inside = [r for r in records if not r.ood]
    rows = []
    for key, title in SIGNALS.items():
        row: dict[str, Any] = {"signal": key, "title": title, "pooled": _auc(records, key)}
        row["by_kind"] = {k: _auc(inside + [r for r in records if r.kind == k], key)
                          for k in kinds}
        rows.append(row)
    return rows


def markdown(records: Sequence[VolumeRecord], rows: list[dict[str, Any]]) -> str:
    kinds = sorted({r.kind for r in records if r.ood})
    counts = {k: sum(r.kind == k for r in records) for k in [IN_DISTRIBUTION, *kinds]}

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    head = ["signal", "all OOD", *(f"{k} ({counts[k]})" for k in kinds)]
    lines = [
        f"ROC AUC of telling each kind of input from {counts[IN_DISTRIBUTION]} held-out "
        "subjects (1: every such input ranks above every subject; 0.5: no better than chance).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in rows:
        cells = [row["title"], cell(row["pooled"]), *(cell(row["by_kind"][k]) for k in kinds)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
