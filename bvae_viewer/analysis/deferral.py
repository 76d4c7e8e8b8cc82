"""Which slices a human should see: the probability that the model's own call is wrong.

Measured on held-out subjects (model/EVALUATION.md), the slices the model gets wrong are the
ones scoring near its threshold, and the mean uncertainty knows less than that distance does.
So the review order is a calibrated probability of error, fitted on validation subjects by a
logistic model of the log margin |log(score / threshold)| and of any further signal (ensemble
disagreement, ...) that beat the margin alone on held-out subjects. With the margin alone it
orders slices exactly as the review band does, now with a probability a reviewer can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LOG_MARGIN = "log_margin"


class DeferralError(ValueError):
    """The error model cannot be fitted or applied (said in one sentence)."""


def log_margin(scores: np.ndarray, threshold: float) -> np.ndarray:
    """|log(score / threshold)|: how far a score is from the line, on the score's own scale.
    NaN where the score is not positive and finite (such slices go to review anyway)."""
    scores = np.asarray(scores, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(np.log(scores / threshold))
    return np.where(np.isfinite(out), out, np.nan)


@dataclass(frozen=True)
class ErrorModel:
    """P(automatic decision wrong) = sigmoid(intercept + sum_i coef_i * signal_i)."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    # The probability above which a slice goes to review, chosen on validation subjects to
    # fill the review budget (see review_cutoff).
    review_cutoff: float = 1.0

    def probability(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """Error probability per slice; 1 where a signal is missing (NaN): never automatic."""
        missing = [name for name in self.features if name not in signals]
        if missing:
            raise DeferralError(f"The error model needs the signal(s) {', '.join(missing)}.")
        x = np.column_stack([np.asarray(signals[f], dtype=float) for f in self.features])
        logit = self.intercept + x @ np.asarray(self.coefficients)
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.where(np.isfinite(p), p, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "review_cutoff": self.review_cutoff,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorModel:
        try:
            features = tuple(str(f) for f in data["features"])
            coefficients = tuple(float(c) for c in data["coefficients"])
            model = cls(features, coefficients, float(data["intercept"]),
                        float(data.get("review_cutoff", 1.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DeferralError(f"The stored error model is damaged ({exc}).") from None
        if len(features) != len(coefficients) or not features:
            raise DeferralError("The stored error model is damaged (features and coefficients).")
        return model


def fit_error_model(
    signals: Mapping[str, np.ndarray], errors: np.ndarray, features: Sequence[str] = (LOG_MARGIN,)
) -> ErrorModel:
    """Logistic regression of the automatic decision's errors on the named signals (slices
    where a signal is missing are left out: they go to review whatever the model says)."""
    # scikit-learn is imported here: reading a model's stored error model must not pay for it.
    from sklearn.linear_model import LogisticRegression

    errors = np.asarray(errors, dtype=bool)
    x = np.column_stack([np.asarray(signals[f], dtype=float) for f in features])
    ok = np.isfinite(x).all(axis=1)
    if ok.sum() < 10 or errors[ok].all() or not errors[ok].any():
        raise DeferralError(
            "The error model needs at least ten validation slices with both right and wrong "
            "automatic decisions."
        )
    # Weak L2 (C=100): a handful of signals and thousands of slices; the coefficients stay
    # readable and the probabilities calibrated (checked by the reliability test).
    fit = LogisticRegression(C=100.0, max_iter=1000).fit(x[ok], errors[ok])
    return ErrorModel(tuple(features), tuple(float(c) for c in fit.coef_[0]),
                      float(fit.intercept_[0]))


def review_cutoff(probability: np.ndarray, budget: float) -> float:
    """The probability above which the ``budget`` share of slices with the highest error
    probability goes to review (ties at the cutoff stay automatic)."""
    if not 0.0 <= budget < 1.0:
        raise DeferralError("The review budget must be a share in [0, 1).")
    p = np.sort(np.asarray(probability, dtype=float))[::-1]
    n_review = int(np.floor(budget * p.size))
    if n_review == 0:
        return float(p[0]) if p.size else 1.0
    return float(p[n_review - 1] if n_review == p.size else p[n_review])


def reliability(probability: np.ndarray, errors: np.ndarray, bins: int = 10) -> np.ndarray:
    """(bins, 3): mean predicted probability, observed error rate and count per decile of
    the predicted probability; empty bins are NaN."""
    probability = np.asarray(probability, dtype=float)
    errors = np.asarray(errors, dtype=float)
    edges = np.quantile(probability, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, bins - 1)
    out = np.full((bins, 3), np.nan)
    for b in range(bins):
        sel = which == b
        if sel.any():
            out[b] = probability[sel].mean(), errors[sel].mean(), sel.sum()
    return out
