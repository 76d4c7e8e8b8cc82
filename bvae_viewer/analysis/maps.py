"""What the engine hands on per slice: the six maps and the scores derived from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EPS = 1e-6
# The "peak" reduction of A_pixel, chosen on validation data beside eq. 15's mean: a tumour
# covers a few per cent of a slice's brain, so in the mean it drowns in the reconstruction
# noise of the whole slice, most of all at the brain's edge, where a VAE blurs most (top and
# bottom slices, all edge, outscored the tumour slices of the middle). Median filtering keeps
# a lone noisy pixel from being a peak; a lesion of a few pixels survives it.
PEAK_ERODE_PX = 4  # model-grid pixels of brain edge left out
PEAK_MEDIAN_PX = 5
REDUCTIONS = ("mean", "peak")
_CROSS = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class MapSet:
    """The per-pixel maps of one slice, all (S, S) float32 on the model grid."""

    original: np.ndarray  # x, the preprocessed input
    reconstruction: np.ndarray  # x_bar = mean_k x_hat_k
    aleatoric: np.ndarray  # U_ale = mean_k sigma_{x,k}^2
    epistemic: np.ndarray  # U_epi = mean_k (x_hat_k - x_bar)^2
    error: np.ndarray  # (x - x_bar)^2
    pixel_score: np.ndarray  # A_pixel = error / (U_tot + eps)
    brain_mask: np.ndarray  # bool

    @property
    def total(self) -> np.ndarray:
        """U_tot = U_epi + U_ale."""
        return self.aleatoric + self.epistemic

    @classmethod
    def empty(cls, original: np.ndarray, mask: np.ndarray) -> MapSet:
        """Maps of a slice the network skipped (no brain): zeros beside the input."""
        zero = np.zeros_like(original, dtype=np.float32)
        return cls(original, zero, zero, zero, zero, zero, mask)


@dataclass(frozen=True)
class SliceScores:
    """Scalar summaries of one slice; NaN where the slice is empty."""

    slice_index: int  # axial index in the volume
    anomaly_score: float  # A(x), eq. 15
    recon_error: float  # mean over brain of (x - x_bar)^2
    pixel_score_mean: float  # mean over brain of A_pixel
    unc_total: float
    unc_epistemic: float
    unc_aleatoric: float
    brain_fraction: float
    latent_nll: float = float("nan")  # -log N(mu; 0, I) per latent dim, an OOD signal
    pixel_score_peak: float = float("nan")  # peak_pixel_score(), the other A_pixel reduction
    empty: bool = False
    # SD of the log anomaly score over an ensemble's members (and test-time views): how much
    # the voices disagree on this slice; NaN for a single model (nn.voices).
    score_spread: float = float("nan")


@dataclass(frozen=True)
class SliceResult:
    """One slice analysed (by the engine, or read from the result cache): its position in
    the SliceStack, its maps and its scores."""

    position: int
    maps: MapSet
    scores: SliceScores


def reconstruction_maps(
    x: np.ndarray, samples_mean: np.ndarray, samples_logvar: np.ndarray, mask: np.ndarray
) -> MapSet:
    """Numpy reference of eq. 10-14 from K decoder samples of shape (K, S, S)."""
    x_bar = samples_mean.mean(axis=0)
    epi = ((samples_mean - x_bar) ** 2).mean(axis=0)
    ale = np.exp(samples_logvar).mean(axis=0)
    err = (x - x_bar) ** 2
    pix = err / (epi + ale + EPS)
    f32 = np.float32
    return MapSet(
        x.astype(f32),
        x_bar.astype(f32),
        ale.astype(f32),
        epi.astype(f32),
        err.astype(f32),
        pix.astype(f32),
        mask.astype(bool),
    )


def peak_pixel_score(pixel_score: np.ndarray, mask: np.ndarray) -> float:
    """Largest median-filtered A_pixel in the brain, its outer PEAK_ERODE_PX pixels left out.

    Outside pixels count as 0, so a peak needs support from inside the brain. Equal to the
    maximum over the inner brain of ``ndimage.median_filter(..., mode="constant")``, without
    filtering the whole slice (which cost about as much as the network's share of a slice).
    """
    inner = ndimage.binary_erosion(mask, _CROSS, iterations=PEAK_ERODE_PX)
    if inner.sum() < PEAK_MEDIAN_PX**2:
        inner = mask  # a small section: keep it whole rather than score nothing
    rows, cols = np.nonzero(inner)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    inside = inner[box]
    k, pad = PEAK_MEDIAN_PX, PEAK_MEDIAN_PX // 2
    values = np.where(inner, pixel_score, 0.0).astype(np.float32)
    padded = np.pad(values, pad)[
        box[0].start : box[0].stop + 2 * pad, box[1].start : box[1].stop + 2 * pad
    ]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k))  # a view, no copy
    # The answer is at least the median around the highest local mean; only windows with
    # a majority of values that high can beat it, and usually few do.
    local_mean = ndimage.uniform_filter(padded, k, mode="constant")[pad:-pad, pad:-pad]
    first = np.unravel_index(np.argmax(np.where(inside, local_mean, -np.inf)), inside.shape)
    best = float(np.median(windows[first]))
    above = ndimage.uniform_filter((padded >= best).astype(np.float32), k, mode="constant")
    candidates = inside & (np.rint(above[pad:-pad, pad:-pad] * k * k) > k * k // 2)
    if candidates.any():
        best = max(best, float(np.median(windows[candidates].reshape(-1, k * k), axis=1).max()))
    return best


def anomaly_score(
    recon_error: float, pixel_mean: float, pixel_peak: float, alpha: float, reduction: str
) -> float:
    """Eq. 15, with A_pixel reduced by its brain mean (the paper) or by its peak."""
    return float(anomaly_scores(recon_error, pixel_mean, pixel_peak, alpha, reduction))


def anomaly_scores(
    recon_error: np.ndarray | float,
    pixel_mean: np.ndarray | float,
    pixel_peak: np.ndarray | float,
    alpha: float,
    reduction: str,
) -> np.ndarray:
    """Eq. 15 for arrays of slices. At alpha 1 the score is the error alone, also for a
    method without a pixel score (NaN there)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown A_pixel reduction '{reduction}'")
    error = np.asarray(recon_error, dtype=float)
    if alpha >= 1.0:
        return error.copy()
    pixel = np.asarray(pixel_mean if reduction == "mean" else pixel_peak, dtype=float)
    return alpha * error + (1.0 - alpha) * pixel


def score_slice(
    maps: MapSet,
    alpha: float,
    slice_index: int,
    brain_fraction: float,
    latent_nll: float = float("nan"),
    reduction: str = "mean",
) -> SliceScores:
    """Eq. 15 (A_pixel reduced as ``reduction`` says) and the uncertainty means over brain."""
    m = maps.brain_mask
    if not m.any():
        nan = float("nan")
        return SliceScores(
            slice_index, nan, nan, nan, nan, nan, nan, brain_fraction, nan, empty=True
        )
    err = float(maps.error[m].mean())
    pix = float(maps.pixel_score[m].mean())
    peak = peak_pixel_score(maps.pixel_score, m)
    return SliceScores(
        slice_index=slice_index,
        anomaly_score=anomaly_score(err, pix, peak, alpha, reduction),
        recon_error=err,
        pixel_score_mean=pix,
        pixel_score_peak=peak,
        unc_total=float(maps.total[m].mean()),
        unc_epistemic=float(maps.epistemic[m].mean()),
        unc_aleatoric=float(maps.aleatoric[m].mean()),
        brain_fraction=brain_fraction,
        latent_nll=latent_nll,
    )
