"""The pieces of a training step the loop in nn.train is made of: tensors, augmentation, the
beta schedule, each rank's shard, and the validation pass with its reconstruction skill.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from bvae_viewer.nn import distributed
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.losses import vae_loss
from bvae_viewer.nn.network import VAEOutput


def tensors(images: np.ndarray, masks: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    # Without masks every non-zero pixel is brain: preprocessing zeroes the background.
    m = x > 0 if masks is None else torch.from_numpy(np.asarray(masks, dtype=bool)).unsqueeze(1)
    return x, m


def augment(
    x: torch.Tensor, m: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    b = x.shape[0]
    flip = (torch.rand(b, generator=generator) < 0.5).view(b, 1, 1, 1).to(x.device)
    x = torch.where(flip, x.flip(-1), x)
    m = torch.where(flip, m.flip(-1), m)
    scale = (0.95 + 0.1 * torch.rand(b, generator=generator)).view(b, 1, 1, 1).to(x.device)
    return (x * scale).clamp(0.0, 1.0), m


def beta_at(options, epoch_progress: float) -> float:
    if options.warmup_epochs <= 0:
        return options.beta_max
    return options.beta_max * min(1.0, epoch_progress / options.warmup_epochs)


def indices(n: int, ctx: distributed.DistContext, seed: int, epoch: int, shuffle: bool):
    sampler = DistributedSampler(
        range(n), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def to_device(t: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    t = t.to(device, non_blocking=True)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


@torch.no_grad()
def validate(net, x, m, ctx, options, config: ModelConfig) -> dict[str, float]:
    """Loss at beta_max with the same latent noise every epoch, so epochs compare fairly."""
    net.eval()
    idx = indices(len(x), ctx, options.seed, 0, shuffle=False)
    generator = torch.Generator().manual_seed(options.seed + 7919)
    sums = torch.zeros(3, dtype=torch.float64)
    ratios = []  # per slice: squared error / that of a flat image at the slice's brain mean
    for start in range(0, len(idx), options.batch_size):
        batch = idx[start : start + options.batch_size]
        xb = to_device(x[batch], ctx.device, config.channels_last)
        mb = m[batch].to(ctx.device)
        mu, logvar_z = net.encoder(xb)
        noise = torch.randn(mu.shape, generator=generator).to(ctx.device)
        rec = net.decoder(net.sample_latent(mu, logvar_z, noise))
        out = VAEOutput(rec.mean, rec.logvar, mu, logvar_z)
        terms = vae_loss(out, xb, mb, options.beta_max, config.deterministic)
        b = len(batch)
        sums += torch.tensor([terms.total.item() * b, terms.kl.item() * b, b], dtype=torch.float64)
        ratios.append(error_ratios(xb.float(), rec.mean.float(), mb))
    sums = distributed.all_sum(sums, ctx)
    n = max(sums[2].item(), 1.0)
    skill = skill_from_ratios(ratios)  # this rank's shard
    return {"val_loss": sums[0].item() / n, "val_kl": sums[1].item() / n, "val_skill": skill}


def error_ratios(x: torch.Tensor, mean: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per slice, brain squared error over the brain variance (the evaluation's skill)."""
    m = m.float()
    n = m.sum(dim=(1, 2, 3)).clamp_min(1.0)
    centre = (x * m).sum(dim=(1, 2, 3), keepdim=True) / n.view(-1, 1, 1, 1)
    flat = (((x - centre) ** 2) * m).sum(dim=(1, 2, 3))
    error = (((x - mean) ** 2) * m).sum(dim=(1, 2, 3))
    return (error / flat.where(flat > 0, torch.nan)).cpu()


def skill_from_ratios(ratios: list[torch.Tensor]) -> float:
    """1 - the median of error_ratios' finite ratios (the evaluation's skill); NaN if none."""
    ratio = torch.cat(ratios) if ratios else torch.zeros(0)
    ratio = ratio[torch.isfinite(ratio)]
    return 1.0 - ratio.median().item() if len(ratio) else math.nan
