"""Per-slice outputs of one method on one split, and the operating point chosen on validation.

A row's slices are the app's SliceScores (analysis.maps) with a few measures the tables add;
its operating point is a Calibration chosen by the app's own rules (analysis.calibrate), and
its decisions are the app's TriagePolicy's.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from bvae_viewer.analysis.calibrate import calibrate_slices
from bvae_viewer.analysis.maps import EPS, MapSet, SliceScores, anomaly_scores, score_slice
from bvae_viewer.analysis.metrics import slice_metrics
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.analysis.triage import TriagePolicy

_FLOATS = (
    "recon_error",
    "pixel_score",
    "pixel_score_peak",
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
    pixel_score_peak: np.ndarray  # the peak reduction of the same (analysis.maps)
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

    def anomaly_score(self, alpha: float, reduction: str = "mean") -> np.ndarray:
        """Eq. 15: alpha * mean error + (1 - alpha) * the pixel score reduced as said."""
        return anomaly_scores(
            self.recon_error, self.pixel_score, self.pixel_score_peak, alpha, reduction
        )

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
    def from_scores(
        cls,
        case_id: str,
        labels: np.ndarray,
        scores: Sequence[SliceScores],
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> ScoredSlices:
        """One case's slices as the app scores them (SliceScores), with the tables' extra
        measures (pixel_score_ale, pixel_score_epi, brain_variance) where given."""
        values = {
            "recon_error": [s.recon_error for s in scores],
            "pixel_score": [s.pixel_score_mean for s in scores],
            "pixel_score_peak": [s.pixel_score_peak for s in scores],
            "unc_total": [s.unc_total for s in scores],
            "unc_aleatoric": [s.unc_aleatoric for s in scores],
            "unc_epistemic": [s.unc_epistemic for s in scores],
            **(extra or {}),
        }
        index = np.array([s.slice_index for s in scores], dtype=np.int64)
        return cls.for_case(case_id, index, labels, {k: np.asarray(v) for k, v in values.items()})

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

    def to_columns(self, prefix: str = "") -> dict[str, list]:
        """Each quantity as a list under a prefixed name (one rows file holds several rows
        and splits); the writer spells NaN and infinity out (store.rows_text)."""
        return {prefix + f.name: getattr(self, f.name).tolist() for f in fields(self)}

    @classmethod
    def from_columns(cls, data: Mapping[str, Sequence], prefix: str = "") -> ScoredSlices:
        """Inverse of to_columns (float() reads "nan" and "inf" back); a quantity a row saved
        before it existed is NaN."""
        n = len(data[prefix + "labels"])

        def column(name: str) -> np.ndarray:
            if prefix + name not in data:
                return np.full(n, np.nan)
            values = data[prefix + name]
            return np.array([float(v) for v in values]) if name in _FLOATS else np.asarray(values)

        return cls(**{f.name: column(f.name) for f in fields(cls)})


EXTRA = ("pixel_score_ale", "pixel_score_epi", "brain_variance")  # beyond SliceScores


def slice_extras(maps: MapSet) -> dict[str, float]:
    """The tables' measures beyond SliceScores: the error over each uncertainty alone, and
    the error of the best flat image (the brain's mean), the yardstick of skill."""
    mask = maps.brain_mask
    if not mask.any():
        return dict.fromkeys(EXTRA, float("nan"))
    brain = np.asarray(maps.original, dtype=np.float64)[mask]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "pixel_score_ale": float(np.mean((maps.error / (maps.aleatoric + EPS))[mask])),
            "pixel_score_epi": float(np.mean((maps.error / (maps.epistemic + EPS))[mask])),
            "brain_variance": float(np.mean((brain - brain.mean()) ** 2)),
        }


def score_maps(
    maps: Mapping[str, np.ndarray],
    image: np.ndarray,
    mask: np.ndarray,
    slice_index: int,
    brain_fraction: float,
) -> tuple[SliceScores, dict[str, float]]:
    """One slice's maps -> its SliceScores as the app computes them (analysis.maps), and the
    tables' extra measures. A map the method does not make is NaN; the pixel score, where
    the method has no map of its own, is eq. 14's error / (U_tot + eps)."""
    error = np.asarray(maps["error"], dtype=np.float32)
    nan = np.full(error.shape, np.nan, dtype=np.float32)
    ale = np.asarray(maps.get("aleatoric", nan), dtype=np.float32)
    epi = np.asarray(maps.get("epistemic", nan), dtype=np.float32)
    pixel = maps.get("pixel_score")
    pixel = np.asarray(error / (ale + epi + EPS) if pixel is None else pixel, dtype=np.float32)
    recon = np.asarray(maps.get("reconstruction", nan), dtype=np.float32)
    mapset = MapSet(
        np.asarray(image, np.float32), recon, ale, epi, error, pixel, np.asarray(mask, bool)
    )
    scores = score_slice(mapset, 1.0, int(slice_index), float(brain_fraction))
    return scores, slice_extras(mapset)


def scored_case(
    case_id: str,
    labels: np.ndarray,
    scored: Sequence[tuple[SliceScores, Mapping[str, float]]],
) -> ScoredSlices:
    """One case's slices from score_maps (in the case's order)."""
    extra = {name: np.array([e[name] for _, e in scored], dtype=float) for name in EXTRA}
    return ScoredSlices.from_scores(case_id, labels, [s for s, _ in scored], extra)


def slice_key(case_id: str, slice_index: int) -> int:
    """A stable integer per slice: its random draws do not depend on batching or order."""
    return zlib.crc32(f"{case_id}:{int(slice_index)}".encode())


@dataclass(frozen=True)
class OperatingPoint:
    """How a row turns slice outputs into decisions: the app's Calibration (its slice part),
    chosen on validation, never on test, or read from a model.json."""

    alpha: float
    score_threshold: float  # flagged above this anomaly score
    uncertainty_threshold: float  # sent to review above this U_tot (inf: never)
    source: str  # "validation" or "model.json"
    # F1-optimal score threshold on validation: a balanced second operating point.
    f1_threshold: float | None = None
    reduction: str = "mean"  # how eq. 15 reduces A_pixel (analysis.maps.REDUCTIONS)
    review_band: float = 1.0  # scores this near the threshold go to review (TriagePolicy)

    @classmethod
    def from_calibration(
        cls, calibration: Calibration, source: str, f1_threshold: float | None = None
    ) -> OperatingPoint:
        return cls(
            alpha=calibration.alpha,
            score_threshold=calibration.score_threshold,
            uncertainty_threshold=calibration.uncertainty_threshold,
            source=source,
            f1_threshold=f1_threshold,
            reduction=calibration.reduction,
            review_band=calibration.review_band,
        )

    @property
    def policy(self) -> TriagePolicy:
        """The app's triage at this operating point (its slice rules)."""
        return TriagePolicy(
            self.score_threshold, self.uncertainty_threshold, review_band=self.review_band
        )

    def scores(self, slices: ScoredSlices) -> np.ndarray:
        """The slices' anomaly scores at this operating point's alpha and reduction."""
        return slices.anomaly_score(self.alpha, self.reduction)

    def reviewed(self, slices: ScoredSlices) -> np.ndarray:
        """The slices the app's TriagePolicy sends to review: uncertainty above its
        threshold, a score near the line, or either not finite."""
        scores, unc = self.scores(slices), slices.unc_total
        with np.errstate(invalid="ignore"):
            return (
                ~np.isfinite(scores)
                | ~np.isfinite(unc)
                | (unc > self.uncertainty_threshold)
                | self.policy.near_line_mask(scores)
            )

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
            reduction=str(raw.get("reduction", "mean")),
            review_band=float(raw.get("review_band", 1.0)),
        )


def fit_operating_point(val: ScoredSlices, alpha: float | None = None) -> OperatingPoint:
    """The app's calibration rules (analysis.calibrate.calibrate_slices) on validation slices.

    Alpha and the reduction maximise validation ROC AUC unless alpha is fixed; the score
    threshold keeps TARGET_SPECIFICITY on normal slices; the uncertainty threshold and the
    review band send TARGET_REVIEW_RATE of the slices to review. The F1-optimal threshold
    is kept beside them, for the abstention figures at a balanced operating point.
    """
    if len(val) == 0:
        raise ValueError("The validation split has no brain slices to calibrate on.")
    calibration = calibrate_slices(
        val.recon_error, val.pixel_score, val.pixel_score_peak, val.unc_total, val.labels, alpha
    )
    best = slice_metrics(val.labels, val.anomaly_score(calibration.alpha, calibration.reduction))
    f1 = best["best_threshold"]
    return OperatingPoint.from_calibration(
        calibration, "validation", None if f1 is None else float(f1)
    )
