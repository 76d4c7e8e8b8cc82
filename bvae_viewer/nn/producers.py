"""Per-method map producers: a batch of slices -> the five maps of a MapSet (and the OOD
signal the method has). The engine's ordering, batching, cancellation and out-of-memory
handling are shared; only this step differs between the methods (analysis.methods).

Every random draw is a function of (seed, slice position) only, so a slice's maps do not
depend on the order it was asked for or the batch it came in (the VAE with decoder MC
dropout excepted: its masks come from the global RNG, see ``VAEMaps``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from bvae_viewer.analysis.maps import EPS
from bvae_viewer.analysis.methods import BVAE, PROB_UNET, REVERSE_DISTILLATION
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.prob_unet import ProbUNet, prior_maps
from bvae_viewer.nn.rd_sampling import (
    mc_dropout_sample_maps,
    summarise_samples,
    tta_sample_maps,
)
from bvae_viewer.nn.registry import RDNetwork
from bvae_viewer.nn.tta import tta_views

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Test-time views for Reverse Distillation's aleatoric map: all of nn.tta's (flips, +-5 %
# intensity, ~1 mm shifts), as the evaluation's full preset measured them.
RD_TTA_VIEWS = 8

Maps = dict[str, torch.Tensor]  # reconstruction, aleatoric, epistemic, error, pixel_score


def slice_seed(seed: int, position: int) -> int:
    """A 64-bit seed for one slice's random draws: a function of (seed, position) only."""
    return int(np.random.SeedSequence([seed, position]).generate_state(1, np.uint64)[0])


def slice_noise(seed: int, position: int, samples: int, latent_dim: int) -> torch.Tensor:
    """The K latent noise vectors of one slice: a function of (seed, position) only."""
    generator = torch.Generator().manual_seed(slice_seed(seed, position))
    return torch.randn(samples, latent_dim, generator=generator)


def _noise(seed: int, positions: Sequence[int], samples: int, latent_dim: int) -> torch.Tensor:
    return torch.stack([slice_noise(seed, p, samples, latent_dim) for p in positions])


class MapProducer(Protocol):
    """What the engine needs from a method."""

    # Whether a slice's maps depend only on (seed, position), so the result cache may keep them.
    cacheable: bool

    def to(self, device: torch.device) -> None:
        """Move the network to ``device`` in inference mode."""

    def __call__(self, x: torch.Tensor, positions: Sequence[int]) -> tuple[Maps, torch.Tensor]:
        """x (B, 1, S, S) -> maps (B, S, S) each and a latent NLL per slice (B,), NaN where
        the method has none. Called under torch.inference_mode."""


def sample_reconstructions(
    network: BayesianVAE, x: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, 1, S, S), noise (B, K, L) -> means and log-variances (B, K, S, S), mu (B, L).

    The encoder runs once; all B*K latent samples go through the decoder in one call.
    """
    b, k, latent = noise.shape
    mu, logvar_z = network.encoder(x)
    z = network.sample_latent(
        mu.unsqueeze(1).expand(b, k, latent).reshape(b * k, latent),
        logvar_z.unsqueeze(1).expand(b, k, latent).reshape(b * k, latent),
        noise.reshape(b * k, latent),
    )
    rec = network.decoder(z)
    side = x.shape[-1]
    return rec.mean.reshape(b, k, side, side), rec.logvar.reshape(b, k, side, side), mu


def _maps(
    reconstruction: torch.Tensor,
    error: torch.Tensor,
    aleatoric: torch.Tensor,
    epistemic: torch.Tensor,
) -> Maps:
    """The five maps, A_pixel = error / (U_tot + eps) as eq. 14 for every method."""
    return {
        "reconstruction": reconstruction,
        "aleatoric": aleatoric,
        "epistemic": epistemic,
        "error": error,
        "pixel_score": error / (epistemic + aleatoric + EPS),
    }


def maps_from_samples(x: torch.Tensor, means: torch.Tensor, logvars: torch.Tensor) -> Maps:
    """Eq. 10-14 in torch: x (B, S, S), samples (B, K, S, S) -> maps of shape (B, S, S)."""
    x_bar = means.mean(dim=1)
    epistemic = ((means - x_bar.unsqueeze(1)) ** 2).mean(dim=1)
    aleatoric = torch.exp(logvars).mean(dim=1)
    return _maps(x_bar, (x - x_bar) ** 2, aleatoric, epistemic)


def score_maps(error: torch.Tensor, aleatoric: torch.Tensor, epistemic: torch.Tensor) -> Maps:
    """The maps of a method without an image reconstruction: its anomaly map stands in the
    reconstruction's panel and is the error."""
    return _maps(error, error, aleatoric, epistemic)


class VAEMaps:
    """The Bayesian VAE: K latent samples per slice, eq. 10-14."""

    def __init__(self, network: BayesianVAE, samples: int, seed: int) -> None:
        self.network, self.samples, self.seed = network, samples, seed
        self.config = network.config
        # MC dropout masks are drawn per batch: they depend on the batching and the order.
        self.cacheable = not self.config.dropout > 0

    def to(self, device: torch.device) -> None:
        self.network.to(device).eval()
        if self.config.channels_last:
            self.network.to(memory_format=torch.channels_last)
        if self.config.dropout > 0:
            # MC dropout: dropout stays on at inference. Its masks come from the global RNG,
            # seeded per batch, so they repeat for the same batches but depend on batching.
            for module in self.network.decoder.modules():
                if isinstance(module, torch.nn.Dropout2d):
                    module.train()

    def __call__(self, x: torch.Tensor, positions: Sequence[int]) -> tuple[Maps, torch.Tensor]:
        noise = _noise(self.seed, positions, self.samples, self.config.latent_dim)
        if self.config.dropout > 0:
            torch.manual_seed(
                int(np.random.SeedSequence([self.seed, *positions]).generate_state(1)[0])
            )
        means, logvars, mu = sample_reconstructions(self.network, x, noise.to(x.device))
        latent_nll = (0.5 * mu.float() ** 2 + HALF_LOG_2PI).mean(dim=1)
        return maps_from_samples(x[:, 0], means, logvars), latent_nll


class RDMaps:
    """Reverse Distillation: the anomaly map (1 - cosine, multi-scale) averaged over K
    bottleneck dropout masks; epistemic = its variance over the masks, aleatoric = its
    variance over the test-time views (dropout off)."""

    cacheable = True

    def __init__(self, network: RDNetwork, samples: int, seed: int) -> None:
        self.network, self.samples, self.seed = network, samples, seed
        self.views = tta_views(RD_TTA_VIEWS, network.config.image_size)

    def to(self, device: torch.device) -> None:
        self.network.to(device).eval()

    def __call__(self, x: torch.Tensor, positions: Sequence[int]) -> tuple[Maps, torch.Tensor]:
        teacher, student = self.network.teacher, self.network.student
        seeds = [slice_seed(self.seed, p) for p in positions]
        dropout = mc_dropout_sample_maps(teacher, student, x, self.samples, seeds)
        mean, epistemic = summarise_samples(dropout)
        _, aleatoric = summarise_samples(tta_sample_maps(teacher, student, x, self.views))
        return score_maps(mean, aleatoric, epistemic), _no_latent(x)


class ProbUNetMaps:
    """The Probabilistic U-Net: K prior samples; the mean tumour probability is the error,
    its sample variance the aleatoric map, and there is no epistemic part."""

    cacheable = True

    def __init__(self, network: ProbUNet, samples: int, seed: int) -> None:
        self.network, self.samples, self.seed = network, samples, seed

    def to(self, device: torch.device) -> None:
        self.network.to(device).eval()

    def __call__(self, x: torch.Tensor, positions: Sequence[int]) -> tuple[Maps, torch.Tensor]:
        noise = _noise(self.seed, positions, self.samples, self.network.config.latent_dim)
        maps = prior_maps(self.network, x, noise.to(x.device))
        return score_maps(maps["error"], maps["aleatoric"], maps["epistemic"]), _no_latent(x)


def _no_latent(x: torch.Tensor) -> torch.Tensor:
    """NaN per slice: the method has no latent likelihood (the OOD check skips it)."""
    return torch.full((x.shape[0],), float("nan"))


PRODUCERS = {BVAE: VAEMaps, REVERSE_DISTILLATION: RDMaps, PROB_UNET: ProbUNetMaps}


def producer_for(method: str, network: torch.nn.Module, samples: int, seed: int) -> MapProducer:
    """The map producer of a loaded model's method."""
    return PRODUCERS[method](network, samples, seed)
