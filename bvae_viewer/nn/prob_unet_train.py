"""Training the Probabilistic U-Net on slices with several graders' masks.

Grader masks travel as one uint8 per pixel, bit g set where grader g marks tumour: four
graders cost a quarter of the memory of separate boolean masks (the full preset keeps about
6000 slices at 128 px). Each step draws one grader per slice for the ELBO, as Kohl et al. do
with the LIDC readers; the supervised term sees the variance across all of them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bvae_viewer.nn.device import choose_device
from bvae_viewer.nn.prob_unet import ProbUNet, ProbUNetConfig, build_prob_unet, elbo_loss
from bvae_viewer.nn.train import TrainOptions

# Weight of the supervised variance loss (normalised MSE, see prob_unet.uncertainty_loss)
# against the per-pixel BCE: what the evaluation's prob_unet_sup row and `train` use.
SUPERVISED_WEIGHT = 1.0
# The U-Net's learning-rate warm-up: the quick preset's 200 steps are most of its budget.
LR_WARMUP_STEPS = 20
# Its learning rate: with group norm it trains stably at the usual Adam rate, twice the
# evaluation preset's (which is set for the VAEs' variance heads).
LEARNING_RATE = 1e-3


def grader_mask(bits: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Grader g[i]'s mask of slice i: bits (B, S, S) uint8, g (B,) -> (B, S, S) float."""
    return ((bits.long() >> g.long().view(-1, 1, 1)) & 1).float()


def grader_variance_t(bits: torch.Tensor, n: int) -> torch.Tensor:
    """Variance across the n graders (population, p (1 - p)) per pixel: (B, S, S)."""
    votes = sum(((bits.long() >> g) & 1) for g in range(n)).float() / n
    return votes * (1.0 - votes)


@dataclass
class ProbUNetResult:
    network: ProbUNet  # eval mode, CPU
    epochs_run: int
    steps: int
    seconds: float
    stopped: str
    history: list[dict[str, Any]] = field(default_factory=list)


def _lr(options: TrainOptions, step: int) -> float:
    """A short linear warm-up, as the app's other training loops use."""
    warm = options.lr_warmup_steps
    return options.lr * (min(1.0, step / warm) if warm > 0 else 1.0)


def train_prob_unet(
    config: ProbUNetConfig,
    images: np.ndarray,
    graders: np.ndarray,
    n_graders: int,
    options: TrainOptions,
    progress: bool = False,
    max_steps: int | None = None,
) -> ProbUNetResult:
    """Train on (N, S, S) slices and their packed grader masks within the time budget.

    No early stopping: the loss is an ELBO on labelled slices and the validation cases are
    not loaded with graders; the last weights are kept. ``max_steps`` stops sooner (tests, and
    the supervised evaluation row at the plain row's step count).
    """
    device = choose_device(options.device)
    torch.manual_seed(options.seed)
    net = build_prob_unet(config).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=options.lr)
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    bits_all = torch.from_numpy(np.ascontiguousarray(graders, dtype=np.uint8))
    rng = torch.Generator().manual_seed(options.seed)
    start, history, stopped, step, epoch = time.perf_counter(), [], "epochs", 0, 0
    per_epoch = max(1, math.ceil(len(x_all) / options.batch_size))
    for epoch in range(1, options.epochs + 1):
        order = torch.randperm(len(x_all), generator=rng)
        sums = np.zeros(4)
        done = 0
        for s in range(per_epoch):
            idx = order[s * options.batch_size : (s + 1) * options.batch_size]
            x, bits = x_all[idx], bits_all[idx]
            # Left-right flips: the brain is roughly symmetric, tumours sit on either side.
            flip = torch.rand(len(idx), generator=rng) < 0.5
            x = torch.where(flip.view(-1, 1, 1), x.flip(-1), x)
            bits = torch.where(flip.view(-1, 1, 1), bits.flip(-1), bits)
            g = torch.randint(0, n_graders, (len(idx),), generator=rng)
            y = grader_mask(bits, g).unsqueeze(1).to(device)
            target = grader_variance_t(bits, n_graders).unsqueeze(1).to(device)
            step += 1
            for group in opt.param_groups:
                group["lr"] = _lr(options, step)
            parts = elbo_loss(net, x.unsqueeze(1).to(device), y, target, generator=rng)
            opt.zero_grad(set_to_none=True)
            parts.total.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sums += (float(parts.total.detach()), parts.reconstruction, parts.kl, parts.uncertainty)
            done += 1
            budget = options.time_budget_s
            if budget and time.perf_counter() - start > budget:
                stopped = "time budget"
                break
            if max_steps is not None and step >= max_steps:
                stopped = "max steps"
                break
        mean = sums / max(done, 1)
        names = ("loss", "segmentation", "kl", "uncertainty")
        history.append(
            {"epoch": epoch, "steps": done} | dict(zip(names, mean.tolist(), strict=True))
        )
        if progress:
            print(
                f"  {config.name} epoch {epoch}: loss {mean[0]:.4f} (BCE+Dice {mean[1]:.4f}, "
                f"KL {mean[2]:.3f}, uncertainty {mean[3]:.4f})",
                flush=True,
            )
        if stopped != "epochs":
            break
    seconds = time.perf_counter() - start
    return ProbUNetResult(net.cpu().eval(), epoch, step, seconds, stopped, history)
