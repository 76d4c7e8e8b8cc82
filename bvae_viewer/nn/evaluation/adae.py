"""ADAE baseline (Vu et al. 2019): two autoencoders trained adversarially with L1 objectives.

The generator G reconstructs the input; the discriminator D, also an autoencoder, learns to
reconstruct real slices well and G's reconstructions badly, while G learns to make
reconstructions D reconstructs well:

    L_D = |x - D(x)|_1 - |G(x) - D(G(x))|_1,     L_G = |x - G(x)|_1 + |G(x) - D(G(x))|_1,

with two changes that keep the game from tipping over: D's second term is capped at a margin
m, as in EBGAN (Zhao et al. 2017), and weighted by BEGAN's equilibrium gain k_t (Berthelot et
al. 2017), L_D = |x - D(x)|_1 + k_t max(0, m - |G(x) - D(G(x))|_1), m the L1 error of a blank
image on the training slices. Uncapped, D won without limit once the output head was linear;
capped but at full weight, D still won: it mapped G's outputs to a blank image, and
|x - D(G(x))| never came near a reconstruction (skill -8.6, paper64, 2026-12-07).

Anomaly map: D's reconstruction error of G's output, |G(x) - D(G(x))|^2; the ADAE paper's
own formula, |x - D(G(x))|^2, is scored beside it. Each slice's score is the map's mean or
peak over the brain, whichever wins on validation, as for every row. Both autoencoders are the
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
from bvae_viewer.nn.train_steps import error_ratios, skill_from_ratios

BETAS = (0.5, 0.999)
# BEGAN's equilibrium: D spoils G's outputs only while it reconstructs them better than GAMMA
# times the real slices' error. BEGAN's gain, 0.001 on the error difference, needs its
# hundreds of thousands of steps; paper64 runs about 65 an epoch, so the gain acts on the
# relative difference (gamma - fake / real) and k_t can cross [0, 1] in about 30 epochs.
GAMMA = 0.5
K_GAIN = 0.001


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


@dataclass
class Equilibrium:
    """BEGAN's proportional control of D's weight on G's outputs, k_t in [0, 1]."""

    gamma: float = GAMMA
    gain: float = K_GAIN
    k: float = 0.0

    def update(self, real: float, fake: float) -> float:
        if real > 0 and math.isfinite(fake):
            self.k = min(1.0, max(0.0, self.k + self.gain * (self.gamma - fake / real)))
        return self.k


@torch.no_grad()
def _validate(gen, disc, x: torch.Tensor, m: torch.Tensor, device, batch: int) -> dict:
    """On normal validation slices: G's L1, and the reconstruction skill (as the evaluation
    measures it) of G(x) and of the pair's D(G(x)), which the adae_x row scores."""
    gen.eval(), disc.eval()
    l1, ratios_g, ratios_pair = 0.0, [], []
    for start in range(0, len(x), batch):
        xb, mb = x[start : start + batch].to(device), m[start : start + batch].to(device)
        g = reconstruct(gen, xb)
        l1 += float((xb - g).abs().mean()) * len(xb)
        ratios_g.append(error_ratios(xb, g, mb))
        ratios_pair.append(error_ratios(xb, reconstruct(disc, g), mb))
    gen.train(), disc.train()
    return {
        "val_l1_g": l1 / max(len(x), 1),
        "val_skill_g": skill_from_ratios(ratios_g),
        "val_skill": skill_from_ratios(ratios_pair),
    }


def train_adae(
    config: ModelConfig,
    images: np.ndarray,
    val_images: np.ndarray,
    val_masks: np.ndarray,
    options: TrainOptions,
    progress: bool = False,
) -> AdaeResult:
    """Alternate G and D steps over (N, S, S) normal slices until a plateau, within the caps.

    The adversarial losses say nothing about detection, so the pair kept is the one of the
    epoch whose D(G(x)) reconstructs the normal validation slices best (the skill the
    evaluation judges ADAE by), and as for the VAEs a plateau is ``patience`` epochs after
    the warm-up without a better one, counted only once that skill reaches ``min_skill``:
    once the best epoch's does (the VAEs ask it of each epoch counted, but ADAE's validation
    skill swings by 0.3 from one epoch to the next, paper64).
    """
    device = choose_device(options.device)
    torch.manual_seed(options.seed)
    gen, disc = _new(config, device), _new(config, device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=options.lr, betas=BETAS)
    opt_d = torch.optim.Adam(disc.parameters(), lr=options.lr, betas=BETAS)
    x_all, x_val = _tensor(images), _tensor(val_images)
    m_val = torch.from_numpy(np.asarray(val_masks, dtype=bool)).unsqueeze(1)
    margin = float(x_all.abs().mean())  # the L1 error of a blank reconstruction
    balance = Equilibrium()
    best = (-math.inf, None)
    rng = torch.Generator().manual_seed(options.seed)
    start, history, stopped, epoch, step, waited = time.perf_counter(), [], "epochs", 0, 0, 0
    steps = max(1, math.ceil(len(x_all) / options.batch_size))
    for epoch in range(1, options.epochs + 1):
        order = torch.randperm(len(x_all), generator=rng)
        sums = np.zeros(4)
        for s in range(steps):
            xb = x_all[order[s * options.batch_size : (s + 1) * options.batch_size]]
            flip = (torch.rand(len(xb), generator=rng) < 0.5).view(-1, 1, 1, 1)
            xb = torch.where(flip, xb.flip(-1), xb).to(device)
            if config.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            weight = _adversarial_weight(options, epoch - 1 + s / steps)
            _warm_up_lr(options, (epoch - 1) * steps + s + 1, opt_g, opt_d)
            losses = _step(gen, disc, opt_g, opt_d, xb, weight, balance.k, margin)
            balance.update(losses[2], losses[3])
            sums += losses
            step += 1
            stopped = _cap(options, start, step)
            if stopped != "epochs":
                break
        stats = _validate(gen, disc, x_val, m_val, device, options.batch_size)
        names = ("loss_g", "loss_d", "real_l1_d", "fake_l1_d")
        means = zip(names, (sums / (s + 1)).tolist(), strict=True)
        record = {"epoch": epoch, **dict(means)}
        history.append(record | {"k": balance.k} | stats)
        improved = stats["val_skill"] > best[0]
        if improved:
            best = (stats["val_skill"], copy.deepcopy((gen.state_dict(), disc.state_dict())))
        floor = options.min_skill
        reconstructs = floor is None or best[0] >= floor
        if improved:
            waited = 0
        elif epoch > options.warmup_epochs and reconstructs:
            waited += 1
        if progress:
            _print_epoch(history[-1], improved)
        if stopped != "epochs":
            break
        if waited >= options.patience:
            stopped = "early stopping"
            break
    if best[1] is not None:  # NaN skill every epoch: keep the last pair
        gen.load_state_dict(best[1][0])
        disc.load_state_dict(best[1][1])
    seconds = time.perf_counter() - start
    return AdaeResult(gen.cpu().eval(), disc.cpu().eval(), epoch, seconds, stopped, step, history)


def _print_epoch(h: dict[str, Any], improved: bool) -> None:
    print(
        f"  adae epoch {h['epoch']}: L_G {h['loss_g']:.4f} L_D {h['loss_d']:.4f} "
        f"D real/fake {h['real_l1_d']:.4f}/{h['fake_l1_d']:.4f} k {h['k']:.3f} "
        f"val skill G {h['val_skill_g']:.3f} D(G) {h['val_skill']:.3f}"
        + (" *" if improved else ""),
        flush=True,
    )


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


def _step(gen, disc, opt_g, opt_d, xb, weight: float, k: float, margin: float) -> np.ndarray:
    # weight: the warm-up's, on both adversarial terms; k: BEGAN's k_t, on D's only.
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
    loss_d = discriminator_loss(real, fake, weight * k, margin)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), 1.0)
    opt_d.step()
    return np.array([loss_g.item(), loss_d.item(), real.item(), fake.item()])


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
        error = ((reference - d) ** 2)[:, 0]
        # The error map is ADAE's own per-pixel score: with it the slice score may be its
        # peak, as validation chooses for every row (scored as a mean only, ADAE's test ROC
        # AUC was 0.35 / 0.47 at paper64, and the mean error alone ranks slices at about
        # chance for every network there).
        return {"error": error, "pixel_score": error}

    return run
