"""Probabilistic U-Net (Kohl et al. 2018): a U-Net whose last layers see a small latent z.

A prior net on the image and a posterior net on the image and one grader's mask give
diagonal Gaussians over a ``latent_dim``-d z. Training reconstructs the grader's mask from
the U-Net features and a posterior sample (weighted binary cross-entropy plus soft Dice)
plus a weight times KL(q || p); at inference z comes from the prior, and K samples give K
plausible segmentations.

Optionally (``uncertainty_weight > 0``) the spread of the prior samples is supervised: the
per-pixel variance of K prior samples' tumour probabilities is pulled towards the variance
across graders (the supervised aleatoric target). With the weight at 0 the same quantity is
what the plain Prob U-Net predicts, so the two are compared on equal terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Pixel variance of a {0, 1} vote is at most 1/4: the loss is scaled to that range.
MAX_VARIANCE = 0.25


@dataclass(frozen=True)
class ProbUNetConfig:
    """Sizes and loss weights; small enough at 32 px to train in seconds on a CPU."""

    name: str = "prob_unet"
    image_size: int = 128
    channels: tuple[int, ...] = (16, 32, 64, 128)  # U-Net levels (each halves the size)
    latent_dim: int = 6
    head_channels: int = 32  # the 1x1 convolutions that combine features and z
    # Weight of KL(q || p), in nats per slice, against the per-pixel BCE and the Dice loss.
    # Kohl et al.'s beta = 1 against BCE summed over pixels is 1/4096 here at 64 px: the
    # posterior then carried the tumour's outline through z (posterior-sample Dice 0.15,
    # prior-sample Dice 0, KL 6.7 nats after 680 steps), so the U-Net never had to find it.
    kl_weight: float = 0.1
    # Soft Dice over the batch, beside the BCE: its gradient on the tumour pixels does not
    # shrink with their share of the slice, as the mean BCE's does (segmentation practice).
    dice_weight: float = 1.0
    uncertainty_weight: float = 0.0  # 0: plain Prob U-Net; > 0: supervised sample variance
    train_samples: int = 4  # prior samples per slice for the supervised variance
    # BCE weight of tumour pixels (pos_weight). Whole 64-128 px slices hold a few percent
    # tumour at most: with plain BCE the net settled on "no tumour anywhere" (Dice 0 after
    # 324 steps in the full preset), so the rare class is weighted up, as in segmentation
    # practice; the predicted probabilities are then biased upward (their ranking, the slice
    # score, is not).
    tumour_weight: float = 10.0

    def __post_init__(self) -> None:
        if self.image_size % 2 ** (len(self.channels) - 1):
            raise ValueError("The image size must be divisible by 2 per U-Net level.")
        if not self.tumour_weight > 0:
            raise ValueError("The tumour pixels' weight must be positive.")
        if self.kl_weight < 0 or self.dice_weight < 0:
            raise ValueError("The loss weights cannot be negative.")
        if self.uncertainty_weight > 0 and self.train_samples < 2:
            raise ValueError("A sample variance needs at least two samples.")


def _block(cin: int, cout: int) -> nn.Sequential:
    # Group norm: batch statistics would differ between the ELBO's batches and single slices
    # at inference; without any normalisation the net trained several times slower.
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GroupNorm(_groups(cout), cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.GroupNorm(_groups(cout), cout),
        nn.ReLU(inplace=True),
    )


def _groups(channels: int) -> int:
    """Eight groups, fewer for narrow layers (at least four channels a group)."""
    return max(1, min(8, channels // 4))


class _Encoder(nn.Module):
    """Conv blocks with average-pool downsampling; returns every level's features."""

    def __init__(self, cin: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        ins = (cin, *channels[:-1])
        self.blocks = nn.ModuleList(_block(a, b) for a, b in zip(ins, channels, strict=True))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else F.avg_pool2d(x, 2))
            out.append(x)
        return out


class _Gaussian(nn.Module):
    """An encoder pooled to one vector -> mean and log-variance of a diagonal Gaussian."""

    def __init__(self, cin: int, channels: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.encoder = _Encoder(cin, channels)
        self.head = nn.Conv2d(channels[-1], 2 * latent, 1)
        # Kohl et al. start both at N(0, I)-like outputs: small initial weights.
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)[-1].mean(dim=(2, 3), keepdim=True)
        mu, logvar = self.head(h).flatten(1).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)


class ProbUNet(nn.Module):
    def __init__(self, config: ProbUNetConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        self.encoder = _Encoder(1, ch)
        self.up = nn.ModuleList(_block(ch[i + 1] + ch[i], ch[i]) for i in range(len(ch) - 1))
        self.prior = _Gaussian(1, ch, config.latent_dim)
        self.posterior = _Gaussian(2, ch, config.latent_dim)
        h = config.head_channels
        self.combine = nn.Sequential(
            nn.Conv2d(ch[0] + config.latent_dim, h, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(h, h, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(h, 1, 1),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The U-Net's last feature map (B, C0, S, S)."""
        levels = self.encoder(x)
        h = levels[-1]
        for i in range(len(levels) - 2, -1, -1):
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            h = self.up[i](torch.cat([h, levels[i]], dim=1))
        return h

    def logits(self, features: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Tumour logits for features (B, C, S, S) and z (B, D) or (B, K, D): (B, K, S, S)."""
        if z.dim() == 2:
            z = z.unsqueeze(1)
        b, k, d = z.shape
        s = features.shape[-1]
        f = features.unsqueeze(1).expand(b, k, *features.shape[1:]).reshape(b * k, -1, s, s)
        zz = z.reshape(b * k, d, 1, 1).expand(b * k, d, s, s)
        return self.combine(torch.cat([f, zz], dim=1)).view(b, k, s, s)

    def prior_samples(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Tumour probabilities of K prior samples, noise (B, K, D) ~ N(0, I): (B, K, S, S)."""
        mu, logvar = self.prior(x)
        z = mu.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * noise
        return torch.sigmoid(self.logits(self.features(x), z))


def build_prob_unet(config: ProbUNetConfig) -> ProbUNet:
    return ProbUNet(config)


def kl_gaussians(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over the latent: (B,)."""
    ratio = torch.exp(logvar_q - logvar_p)
    sq = (mu_q - mu_p) ** 2 / torch.exp(logvar_p)
    return 0.5 * (ratio + sq - 1.0 - (logvar_q - logvar_p)).sum(dim=1)


def sample_variance(probs: torch.Tensor) -> torch.Tensor:
    """Per-pixel variance over the sample axis (dim 1) of (B, K, S, S), unbiased."""
    return probs.var(dim=1, unbiased=True)


def prior_maps(net: ProbUNet, x: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
    """K prior samples of x (B, 1, S, S), noise (B, K, D) -> maps (B, S, S): ``error`` the mean
    tumour probability, ``aleatoric`` its variance over the samples, ``epistemic`` zero (this
    model has no weight uncertainty). One sample has no spread: its variance is zero."""
    probs = net.prior_samples(x, noise)
    mean = probs.mean(dim=1)
    variance = sample_variance(probs) if probs.shape[1] > 1 else torch.zeros_like(mean)
    return {"error": mean, "aleatoric": variance, "epistemic": torch.zeros_like(variance)}


def soft_dice_loss(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice over the whole batch (smoothed by one pixel): 0 for a perfect match."""
    overlap = (probs * target).sum()
    return 1.0 - (2.0 * overlap + 1.0) / (probs.sum() + target.sum() + 1.0)


def uncertainty_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the predicted pixel variance against the graders' variance,
    both divided by its largest possible value (1/4): 0 exactly when they are equal."""
    return (((predicted - target) / MAX_VARIANCE) ** 2).mean()


@dataclass(frozen=True)
class LossParts:
    total: torch.Tensor
    reconstruction: float  # weighted BCE per pixel plus the weighted Dice loss
    kl: float  # nats per slice
    uncertainty: float  # 0 when the supervised term is off


def elbo_loss(
    net: ProbUNet,
    x: torch.Tensor,
    y: torch.Tensor,
    target_var: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> LossParts:
    """The training loss on slices x, one grader's masks y (B, 1, S, S) and the graders'
    per-pixel variance (B, 1, S, S; needed when the supervised term is on).

    The ELBO of Kohl et al. with the reconstruction term read per pixel (weighted BCE) plus
    a soft Dice term, and KL in nats per slice times ``kl_weight`` (see ProbUNetConfig).
    """
    c = net.config
    feats = net.features(x)
    mu_p, lv_p = net.prior(x)
    mu_q, lv_q = net.posterior(torch.cat([x, y], dim=1))
    eps = torch.randn(mu_q.shape, generator=generator).to(x.device)
    z = mu_q + torch.exp(0.5 * lv_q) * eps
    logits = net.logits(feats, z)
    weight = torch.tensor(c.tumour_weight, device=x.device, dtype=logits.dtype)
    rec = F.binary_cross_entropy_with_logits(logits, y, reduction="mean", pos_weight=weight)
    if c.dice_weight > 0:
        rec = rec + c.dice_weight * soft_dice_loss(torch.sigmoid(logits), y)
    kl = kl_gaussians(mu_q, lv_q, mu_p, lv_p).mean()
    total = rec + c.kl_weight * kl
    unc = torch.zeros((), device=x.device)
    if c.uncertainty_weight > 0:
        if target_var is None:
            raise ValueError("The supervised uncertainty term needs the graders' variance.")
        noise = torch.randn((len(x), c.train_samples, c.latent_dim), generator=generator)
        z_p = mu_p.unsqueeze(1) + torch.exp(0.5 * lv_p).unsqueeze(1) * noise.to(x.device)
        probs = torch.sigmoid(net.logits(feats, z_p))
        unc = uncertainty_loss(sample_variance(probs), target_var[:, 0])
        total = total + c.uncertainty_weight * unc
    return LossParts(total, float(rec.detach()), float(kl.detach()), float(unc.detach()))
