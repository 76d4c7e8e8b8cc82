"""The training objective: Gaussian NLL of the pixels plus beta * KL of the latent."""

from __future__ import annotations

from typing import NamedTuple

import torch

from bvae_viewer.nn.network import VAEOutput

# Background pixels (outside the brain mask) are exactly 0 after preprocessing. Under the
# learned-variance NLL the model could drive their variance to the clamp and their weight
# to ~1e9, so they get a plain squared error at this fixed variance instead: the decoder
# learns a black background and the aleatoric head is trained on brain pixels only.
BACKGROUND_VARIANCE = 0.01


class LossTerms(NamedTuple):
    """Per-sample means over the batch; ``total`` is what is minimised."""

    total: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per pixel 0.5 log s^2 + (x - x_hat)^2 / (2 s^2) (constant 0.5 log 2 pi dropped)."""
    return 0.5 * logvar + (x - mean) ** 2 * (0.5 * torch.exp(-logvar))


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(0, I)) summed over latent dims: shape (B,)."""
    return 0.5 * (mu**2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=1)


def vae_loss(
    out: VAEOutput,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    beta: float,
    deterministic: bool = False,
) -> LossTerms:
    """Sum over pixels, mean over the batch; mask None means every pixel is brain."""
    per_pixel = gaussian_nll(x, out.mean, out.logvar)
    if mask is not None:
        background = (x - out.mean) ** 2 / (2.0 * BACKGROUND_VARIANCE)
        per_pixel = torch.where(mask, per_pixel, background)
    nll = per_pixel.flatten(1).sum(dim=1).mean()
    if deterministic:
        kl = torch.zeros((), device=x.device)
    else:
        kl = kl_to_standard_normal(out.mu, out.logvar_z).mean()
    return LossTerms(nll + beta * kl, nll, kl)
