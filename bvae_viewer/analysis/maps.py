"""What the engine hands on per slice: the six maps and the scores derived from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


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
    empty: bool = False


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


def score_slice(
    maps: MapSet,
    alpha: float,
    slice_index: int,
    brain_fraction: float,
    latent_nll: float = float("nan"),
) -> SliceScores:
    """Eq. 15 and the uncertainty means, all over brain pixels."""
    m = maps.brain_mask
    if not m.any():
        nan = float("nan")
        return SliceScores(
            slice_index, nan, nan, nan, nan, nan, nan, brain_fraction, nan, empty=True
        )
    err = float(maps.error[m].mean())
    pix = float(maps.pixel_score[m].mean())
    return SliceScores(
        slice_index=slice_index,
        anomaly_score=alpha * err + (1.0 - alpha) * pix,
        recon_error=err,
        pixel_score_mean=pix,
        unc_total=float(maps.total[m].mean()),
        unc_epistemic=float(maps.epistemic[m].mean()),
        unc_aleatoric=float(maps.aleatoric[m].mean()),
        brain_fraction=brain_fraction,
        latent_nll=latent_nll,
    )
