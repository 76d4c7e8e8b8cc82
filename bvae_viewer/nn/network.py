"""The Bayesian VAE: conv encoder and transposed-conv decoder with multi-head attention."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from bvae_viewer.nn.attention import SpatialAttention
from bvae_viewer.nn.config import ModelConfig

# Initial per-pixel log sigma_x^2: sigma_x ~ 0.2 of the intensity range.
INITIAL_LOGVAR = -3.0


class Reconstruction(NamedTuple):
    """Decoder output: per-pixel mean and log-variance, both (B, 1, S, S)."""

    mean: torch.Tensor
    logvar: torch.Tensor


class VAEOutput(NamedTuple):
    mean: torch.Tensor  # x_hat
    logvar: torch.Tensor  # log sigma_x^2
    mu: torch.Tensor  # q(z|x) mean, (B, latent)
    logvar_z: torch.Tensor  # q(z|x) log-variance, (B, latent)


def _attention(config: ModelConfig, channels: int, position: int, where: tuple[int, ...]):
    if config.attention and position in where:
        return SpatialAttention(channels, config.heads, config.kv_pool)
    return nn.Identity()


class Encoder(nn.Module):
    """x (B, 1, S, S) -> mu, log sigma^2 of q(z|x)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in = 1
        for i, c_out in enumerate(config.channels, start=1):
            layers += [
                nn.Conv2d(c_in, c_out, 4, stride=2, padding=1),
                nn.ReLU(inplace=True),
                _attention(config, c_out, i, config.enc_attention),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        flat = c_in * config.bottleneck_size**2
        self.to_latent = nn.Linear(flat, 2 * config.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        mu, logvar = self.to_latent(self.features(x).flatten(1)).chunk(2, dim=1)
        clamp = self.config.logvar_clamp
        return mu, logvar.clamp(-clamp, clamp)


class Decoder(nn.Module):
    """z (B, latent) -> x_hat and log sigma_x^2, each (B, 1, S, S)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        top = config.channels[-1]
        self.from_latent = nn.Linear(config.latent_dim, top * config.bottleneck_size**2)
        outs = [*reversed(config.channels[:-1]), config.last_channels]
        layers: list[nn.Module] = []
        c_in = top
        for i, c_out in enumerate(outs, start=1):
            if config.dropout > 0 and i <= config.dropout_blocks:
                layers.append(nn.Dropout2d(config.dropout))
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                nn.ReLU(inplace=True),
                _attention(config, c_out, i, config.dec_attention),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        # The two output convs (mean, log-variance) run as one conv with two output channels.
        self.head = nn.Conv2d(c_in, 2 if config.aleatoric else 1, 3, padding=1)
        # Without the aleatoric head every pixel shares one learned log-variance.
        self.global_logvar = (
            None if config.aleatoric else nn.Parameter(torch.full((1,), INITIAL_LOGVAR))
        )
        if config.aleatoric:
            # Start every pixel near the data's noise level with a near-constant variance:
            # from log sigma^2 = 0 the first steps drive it down so fast that the NLL blows up.
            with torch.no_grad():
                self.head.weight[1:].mul_(0.1)
                self.head.bias[1:].fill_(INITIAL_LOGVAR)

    def forward(self, z: torch.Tensor) -> Reconstruction:
        c = self.config
        h = self.from_latent(z).view(-1, c.channels[-1], c.bottleneck_size, c.bottleneck_size)
        h = torch.relu(h)
        if c.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        out = self.head(self.features(h))
        mean = out[:, :1]
        mean = torch.sigmoid(mean) if c.sigmoid_mean else mean
        if self.global_logvar is not None:
            logvar = self.global_logvar.expand_as(mean)
        else:
            logvar = out[:, 1:]
        low = -c.logvar_clamp if c.pixel_logvar_min is None else c.pixel_logvar_min
        return Reconstruction(mean, logvar.clamp(low, c.logvar_clamp))


class BayesianVAE(nn.Module):
    """Encoder + decoder; ``forward`` draws one latent sample (reparameterisation)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def sample_latent(
        self, mu: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps (z = mu for the deterministic autoencoder)."""
        if self.config.deterministic:
            return mu
        if noise is None:
            noise = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * noise

    def forward(self, x: torch.Tensor) -> VAEOutput:
        mu, logvar_z = self.encoder(x)
        rec = self.decoder(self.sample_latent(mu, logvar_z))
        return VAEOutput(rec.mean, rec.logvar, mu, logvar_z)


def build_network(config: ModelConfig) -> BayesianVAE:
    """A freshly initialised network for a config."""
    return BayesianVAE(config)
