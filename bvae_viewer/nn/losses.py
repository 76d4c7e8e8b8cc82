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


def variance_weights(logvar: torch.Tensor, mask: torch.Tensor | None, power: float) -> torch.Tensor:
    """beta-NLL weights (Seitzer et al. 2022): sigma^(2 power), held constant, mean 1 on brain.

    Under the plain NLL the mean's gradient is the error over sigma^2, so wherever the variance
    head grows the mean stops learning: fine-tuned on varied brains, the variance explained
    the new anatomy while the mean's held-out skill fell below a flat image. Weighting each
    pixel's NLL by sigma^(2 power) gives the mean an error gradient scaled by
    sigma^(2 power - 2) (power 1: plain squared error); dividing by the brain's mean weight
    keeps the loss on its usual scale, so beta * KL keeps its balance with it.
    """
    weights = torch.exp(power * logvar.detach())
    brain = weights if mask is None else weights[mask]
    return weights / brain.mean().clamp_min(1e-12)


def vae_loss(
    out: VAEOutput,
    x: torch.Tensor,
    mask: torch.Tensor | None,
    beta: float,
    deterministic: bool = False,
    nll_power: float = 0.0,
) -> LossTerms:
    """Sum over pixels, mean over the batch; mask None means every pixel is brain.

    ``nll_power`` > 0 weights the brain's NLL as beta-NLL does (``variance_weights``); the
    validation loss keeps the plain NLL, the likelihood the model is judged by.
    """
    per_pixel = gaussian_nll(x, out.mean, out.logvar)
    if nll_power > 0:
        per_pixel = per_pixel * variance_weights(out.logvar, mask, nll_power)
    if mask is not None:
        background = (x - out.mean) ** 2 / (2.0 * BACKGROUND_VARIANCE)
        per_pixel = torch.where(mask, per_pixel, background)
    nll = per_pixel.flatten(1).sum(dim=1).mean()
    if deterministic:
        kl = torch.zeros((), device=x.device)
    else:
        kl = kl_to_standard_normal(out.mu, out.logvar_z).mean()
    return LossTerms(nll + beta * kl, nll, kl)
