"""ADAE baseline (Vu et al. 2019): two autoencoders trained adversarially with L1 objectives.

The generator G reconstructs the input; the discriminator D, also an autoencoder, learns to
reconstruct real slices well and G's reconstructions badly, while G learns to make
reconstructions D reconstructs well:

    L_D = |x - D(x)|_1 - |G(x) - D(G(x))|_1,     L_G = |x - G(x)|_1 + |G(x) - D(G(x))|_1,

with one change: D's second term is capped at a margin m, as in EBGAN (Zhao et al. 2017),
L_D = |x - D(x)|_1 + max(0, m - |G(x) - D(G(x))|_1), m the L1 error of a blank image on the
training slices; uncapped, D won without limit once the output head was linear (_step).

Anomaly score: D's reconstruction error of G's output, |G(x) - D(G(x))|^2 over the brain;
the ADAE paper's own formula, |x - D(G(x))|^2, is scored beside it. Both autoencoders are the
app's conv backbone without attention, deterministic (z = mu), so only the training differs.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.device import choose_device
from bvae_viewer.nn.evaluation.scoring import MapFn
from bvae_viewer.nn.network import BayesianVAE, build_network
from bvae_viewer.nn.train import TrainOptions

BETAS = (0.5, 0.999)


def adae_config(base: ModelConfig) -> ModelConfig:
    return replace(
        base, name="adae", attention=False, deterministic=True, aleatoric=False, dropout=0.0
    )


def reconstruct(net: BayesianVAE, x: torch.Tensor) -> torch.Tensor:
    """The autoencoder's deterministic reconstruction, (B, 1, S, S)."""
    mu, _ = net.encoder(x)
    return net.decoder(mu).mean


@dataclass
class AdaeResult:
    generator: BayesianVAE  # eval mode, CPU
    discriminator: BayesianVAE
    epochs_run: int
    seconds: float
    stopped: str  # epochs | early stopping | time budget | max steps (as train.py says)
    steps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def _new(config: ModelConfig, device: torch.device) -> BayesianVAE:
    net = build_network(config).to(device)
    return net.to(memory_format=torch.channels_last) if config.channels_last else net


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)


@torch.no_grad()
def _generator_l1(gen: BayesianVAE, x: torch.Tensor, device: torch.device, batch: int) -> float:
    """Mean |x - G(x)| on normal validation slices: low while G still reconstructs."""
    gen.eval()
    total = 0.0
    for start in range(0, len(x), batch):
        xb = x[start : start + batch].to(device)
        total += float((xb - reconstruct(gen, xb)).abs().mean()) * len(xb)
    gen.train()
    return total / max(len(x), 1)


def train_adae(
    config: ModelConfig,
    images: np.ndarray,
    val_images: np.ndarray,
    options: TrainOptions,
    progress: bool = False,
) -> AdaeResult:
    """Alternate G and D steps over (N, S, S) normal slices until a plateau, within the caps.

    The adversarial game can tip over (D wins, G stops reconstructing, seen on small data),
    and the adversarial losses say nothing about detection; so the pair kept is the one of
    the epoch whose generator reconstructs the normal validation slices best, and a plateau
    is ``patience`` epochs after the warm-up without a better one.
    """
    device = choose_device(options.device)
    torch.manual_seed(options.seed)
    gen, disc = _new(config, device), _new(config, device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=options.lr, betas=BETAS)
    opt_d = torch.optim.Adam(disc.parameters(), lr=options.lr, betas=BETAS)
    x_all, x_val = _tensor(images), _tensor(val_images)
    margin = float(x_all.abs().mean())  # the L1 error of a blank reconstruction
    best = (math.inf, None)
    rng = torch.Generator().manual_seed(options.seed)
    start, history, stopped, epoch, step, waited = time.perf_counter(), [], "epochs", 0, 0, 0
    steps = max(1, math.ceil(len(x_all) / options.batch_size))
    for epoch in range(1, options.epochs + 1):
        order = torch.randperm(len(x_all), generator=rng)
        sums = np.zeros(2)
        for s in range(steps):
            xb = x_all[order[s * options.batch_size : (s + 1) * options.batch_size]]
            flip = (torch.rand(len(xb), generator=rng) < 0.5).view(-1, 1, 1, 1)
            xb = torch.where(flip, xb.flip(-1), xb).to(device)
            if config.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            weight = _adversarial_weight(options, epoch - 1 + s / steps)
            _warm_up_lr(options, (epoch - 1) * steps + s + 1, opt_g, opt_d)
            sums += _step(gen, disc, opt_g, opt_d, xb, weight, margin)
            step += 1
            stopped = _cap(options, start, step)
            if stopped != "epochs":
                break
        val_l1 = _generator_l1(gen, x_val, device, options.batch_size)
        history.append(
            {
                "epoch": epoch,
                "loss_g": float(sums[0] / (s + 1)),
                "loss_d": float(sums[1] / (s + 1)),
                "val_l1_g": val_l1,
            }
        )
        if val_l1 < best[0]:
            best = (val_l1, copy.deepcopy((gen.state_dict(), disc.state_dict())))
            waited = 0
        elif epoch > options.warmup_epochs:
            waited += 1
        if progress:
            print(
                f"  adae epoch {epoch}: L_G {history[-1]['loss_g']:.4f} "
                f"L_D {history[-1]['loss_d']:.4f} val |x - G(x)| {val_l1:.4f}",
                flush=True,
            )
        if stopped != "epochs":
            break
        if waited >= options.patience:
            stopped = "early stopping"
            break
    gen.load_state_dict(best[1][0])
    disc.load_state_dict(best[1][1])
    seconds = time.perf_counter() - start
    return AdaeResult(gen.cpu().eval(), disc.cpu().eval(), epoch, seconds, stopped, step, history)


def _cap(options: TrainOptions, start: float, step: int) -> str:
    """The cap reached after ``step`` steps, in train.py's words ("epochs": none yet)."""
    budget = options.time_budget_s
    if budget and time.perf_counter() - start > budget:
        return "time budget"
    if options.max_steps is not None and step >= options.max_steps:
        return "max steps"
    return "epochs"


def _adversarial_weight(options: TrainOptions, epoch_progress: float) -> float:
    """The adversarial terms rise from 0 to 1 over the warm-up epochs.

    Started at full weight, the game begins between two untrained autoencoders: D learns
    to spoil G's still meaningless outputs and G never learns to reconstruct (seen on
    small data). Warmed up, both first learn to reconstruct, as the VAE's beta warm-up does.
    """
    if options.warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch_progress / options.warmup_epochs)


def _warm_up_lr(options: TrainOptions, step: int, *optimizers: torch.optim.Optimizer) -> None:
    """The learning rate rises over the first steps, as in train.py: full-size first Adam
    steps push the sigmoid output into saturation, and the autoencoder then returns a
    constant image whatever its input."""
    warm = options.lr_warmup_steps
    lr = options.lr * (min(1.0, step / warm) if warm > 0 else 1.0)
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr


def discriminator_loss(
    real: torch.Tensor, fake: torch.Tensor, weight: float, margin: float
) -> torch.Tensor:
    """D's loss from its L1 error on real slices and on G's reconstructions: the real error,
    plus the fake error's shortfall from the margin (nothing to gain beyond it)."""
    return real + weight * torch.relu(margin - fake)


def _step(gen, disc, opt_g, opt_d, xb: torch.Tensor, weight: float, margin: float) -> np.ndarray:
    # Generator: reconstruct x, and make reconstructions that D reconstructs well.
    disc.requires_grad_(False)
    g = reconstruct(gen, xb)
    loss_g = _l1(xb, g) + weight * _l1(g, reconstruct(disc, g))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
    opt_g.step()
    disc.requires_grad_(True)
    # Discriminator: reconstruct real slices well and G's reconstructions badly, but no
    # worse than a blank image would (EBGAN's margin, Zhao et al. 2017). ADAE's unbounded
    # -|G(x) - D(G(x))| let D win without limit once the output head is linear (paper64):
    # L_D fell to -1e13 by epoch 30 at 64 px and G never reconstructed again (2026-12-07).
    g = g.detach()
    real, fake = _l1(xb, reconstruct(disc, xb)), _l1(g, reconstruct(disc, g))
    loss_d = discriminator_loss(real, fake, weight, margin)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), 1.0)
    opt_d.step()
    return np.array([loss_g.item(), loss_d.item()])


def adae_maps(
    gen: BayesianVAE, disc: BayesianVAE, device: torch.device, against: str = "generated"
) -> MapFn:
    """Per-pixel squared error of D(G(x)) against G(x) ("generated") or against x ("input")."""
    if against not in ("generated", "input"):
        raise ValueError("ADAE scores against 'generated' or 'input'.")
    nets = []
    for net in (gen, disc):
        net = net.to(device).eval()
        nets.append(net.to(memory_format=torch.channels_last) if net.config.channels_last else net)

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        g = reconstruct(nets[0], x)
        d = reconstruct(nets[1], g)
        reference = g if against == "generated" else x
        return {"error": ((reference - d) ** 2)[:, 0]}

    return run
