"""Per-slice outputs of one method on one split, and the operating point chosen on validation."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from bvae_viewer.analysis.calibrate import TARGET_REVIEW_RATE, TARGET_SPECIFICITY, choose_alpha
from bvae_viewer.analysis.metrics import slice_metrics

_FLOATS = (
    "recon_error",
    "pixel_score",
    "unc_total",
    "unc_aleatoric",
    "unc_epistemic",
    "pixel_score_ale",
    "pixel_score_epi",
    "brain_variance",
)


@dataclass(frozen=True)
class ScoredSlices:
    """Brain slices of a split, one entry each; NaN where a method has no such quantity.

    ``recon_error`` and ``pixel_score`` are the two brain means of eq. 15, so the anomaly
    score of any alpha follows without running the network again. ``pixel_score_ale`` and
    ``pixel_score_epi`` divide the error by one uncertainty only (for the by-type ROC table).
    """

    case_ids: np.ndarray  # (N,) str
    slice_index: np.ndarray  # (N,) int, axial index in the volume
    labels: np.ndarray  # (N,) bool, any tumour voxel in the slice
    recon_error: np.ndarray  # mean over brain of (x - x_bar)^2
    pixel_score: np.ndarray  # mean over brain of (x - x_bar)^2 / (U_tot + eps)
    unc_total: np.ndarray
    unc_aleatoric: np.ndarray
    unc_epistemic: np.ndarray
    pixel_score_ale: np.ndarray  # mean over brain of (x - x_bar)^2 / (U_ale + eps)
    pixel_score_epi: np.ndarray  # mean over brain of (x - x_bar)^2 / (U_epi + eps)
    brain_variance: np.ndarray  # variance of x over the brain: the error of a flat image

    def __post_init__(self) -> None:
        n = len(self.labels)
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=bool))
        object.__setattr__(self, "case_ids", np.asarray(self.case_ids, dtype=str))
        object.__setattr__(self, "slice_index", np.asarray(self.slice_index, dtype=np.int64))
        for name in _FLOATS:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        for f in fields(self):
            if len(getattr(self, f.name)) != n:
                raise ValueError(f"{f.name} has {len(getattr(self, f.name))} entries, not {n}.")

    def __len__(self) -> int:
        return len(self.labels)

    def reconstruction_skill(self) -> float | None:
        """1 - median(error / error of the best flat image) over normal slices, like R^2.

        About 0 (or below) when a network returns a flat image whatever its input: untrained,
        or collapsed to a black mean whose variance head explains the slice instead.
        """
        v = self.brain_variance
        keep = ~self.labels & (v > 0) & np.isfinite(self.recon_error)
        if not keep.any():
            return None
        return float(1.0 - np.median(self.recon_error[keep] / v[keep]))

    def anomaly_score(self, alpha: float) -> np.ndarray:
        """Eq. 15: alpha * mean error + (1 - alpha) * mean pixel score."""
        if alpha >= 1.0:  # the pixel score may be NaN (methods without uncertainty)
            return self.recon_error.copy()
        return alpha * self.recon_error + (1.0 - alpha) * self.pixel_score

    @property
    def has_uncertainty(self) -> bool:
        return bool(np.isfinite(self.unc_total).any())

    @classmethod
    def concat(cls, parts: list[ScoredSlices]) -> ScoredSlices:
        if not parts:
            raise ValueError("There are no scored slices to combine.")
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    @classmethod
    def for_case(
        cls,
        case_id: str,
        slice_index: np.ndarray,
        labels: np.ndarray,
        values: dict[str, np.ndarray],
    ) -> ScoredSlices:
        """One case; quantities missing from ``values`` become NaN."""
        n = len(labels)
        nan = np.full(n, np.nan)
        return cls(
            np.full(n, case_id),
            slice_index,
            labels,
            **{name: values.get(name, nan) for name in _FLOATS},
        )

    def to_npz(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays under prefixed names (one .npz holds several rows and splits)."""
        return {prefix + f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_npz(cls, data, prefix: str = "") -> ScoredSlices:
        """Inverse of to_npz (``data`` is an opened .npz or a dict)."""
        return cls(**{f.name: data[prefix + f.name] for f in fields(cls)})


@dataclass(frozen=True)
class OperatingPoint:
    """How a row turns slice outputs into decisions; chosen on validation, never on test."""

    alpha: float
    score_threshold: float  # flagged above this anomaly score
    uncertainty_threshold: float  # sent to review above this U_tot (inf: never)
    source: str  # "validation" or "model.json"
    # F1-optimal score threshold on validation: a balanced second operating point.
    f1_threshold: float | None = None

    @classmethod
    def from_dict(cls, raw: dict) -> OperatingPoint:
        """Inverse of asdict after a JSON round trip (where inf was stored as "inf")."""
        f1 = raw.get("f1_threshold")
        return cls(
            alpha=float(raw["alpha"]),
            score_threshold=float(raw["score_threshold"]),
            uncertainty_threshold=float(raw["uncertainty_threshold"]),
            source=str(raw["source"]),
            f1_threshold=None if f1 is None else float(f1),
        )


def fit_operating_point(val: ScoredSlices, alpha: float | None = None) -> OperatingPoint:
    """The app's calibration rules (analysis.calibrate) applied to validation slices.

    Alpha maximises validation ROC AUC unless fixed; the score threshold keeps
    TARGET_SPECIFICITY on normal slices; the uncertainty threshold sends
    TARGET_REVIEW_RATE of the slices to review. The F1-optimal threshold is kept beside
    them, for the abstention figures at a balanced operating point.
    """
    if len(val) == 0:
        raise ValueError("The validation split has no brain slices to calibrate on.")
    if alpha is None:
        pix = np.nan_to_num(val.pixel_score, nan=0.0, posinf=0.0)
        alpha, _ = choose_alpha(val.recon_error, pix, val.labels)
    score = val.anomaly_score(alpha)
    normal = score[~val.labels] if (~val.labels).any() else score
    unc = val.unc_total[np.isfinite(val.unc_total)]
    best = slice_metrics(val.labels, score)["best_threshold"]
    return OperatingPoint(
        alpha=float(alpha),
        score_threshold=float(np.quantile(normal, TARGET_SPECIFICITY)),
        uncertainty_threshold=(
            float(np.quantile(unc, 1 - TARGET_REVIEW_RATE)) if unc.size else float("inf")
        ),
        source="validation",
        f1_threshold=None if best is None else float(best),
    )
