"""Training: Adam on NLL + beta*KL, clipping, early stopping, resumable checkpoints, DDP.

Launch under torchrun for several processes (one per GPU, or gloo on CPU):
``torchrun --nproc_per_node 2 -m bvae_viewer.nn.train --images slices.npz --out DIR``
(its options: train_cli.py).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from bvae_viewer.nn import distributed
from bvae_viewer.nn.checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.denoise import coarse_noise
from bvae_viewer.nn.losses import LossTerms, vae_loss
from bvae_viewer.nn.network import BayesianVAE, VAEOutput, build_network


@dataclass
class TrainOptions:
    """How to train (not what: that is the ModelConfig)."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3
    beta_max: float = 0.1
    warmup_epochs: float = 10.0  # beta rises linearly from 0 to beta_max over these epochs
    patience: int = 8  # epochs without a better validation loss, counted after warm-up
    seed: int = 0
    num_threads: int = 0  # torch CPU threads; 0 = torch's default
    time_budget_s: float | None = None  # stop cleanly (keeping the best weights) after this
    max_steps: int | None = None  # ... or after this many optimiser steps
    # A plateau only counts once the network reconstructs: epochs whose validation skill
    # (1 - median error / error of a flat image) is below this add no patience. A collapsed
    # network plateaus at once, and would otherwise stop where it most needs to go on.
    min_skill: float | None = None
    augment: bool = True  # random left-right flips and +-5 % intensity scaling
    denoise_std: float = 0.0  # > 0: restore inputs corrupted with coarse noise (nn.denoise)
    # Learning rate rises linearly over these first steps: Adam's first updates are
    # full-size in every weight at once, which threw the sigmoid mean into saturation.
    lr_warmup_steps: int = 200
    device: str = "auto"  # auto | cpu | cuda


@dataclass
class TrainResult:
    best_val_loss: float
    epochs_run: int  # all epochs completed, those of resumed runs included
    history: list[dict[str, Any]]
    wall_seconds: float  # this call only
    best_state: BayesianVAE  # best weights, eval mode, on the CPU
    stopped: str = "epochs"  # epochs | early stopping | time budget | max steps
    notes: list[str] = field(default_factory=list)


class TrainingError(Exception):
    """Training cannot start or cannot go on."""


def _tensors(images: np.ndarray, masks: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    # Without masks every non-zero pixel is brain: preprocessing zeroes the background.
    m = x > 0 if masks is None else torch.from_numpy(np.asarray(masks, dtype=bool)).unsqueeze(1)
    return x, m


def _augment(
    x: torch.Tensor, m: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    b = x.shape[0]
    flip = (torch.rand(b, generator=generator) < 0.5).view(b, 1, 1, 1).to(x.device)
    x = torch.where(flip, x.flip(-1), x)
    m = torch.where(flip, m.flip(-1), m)
    scale = (0.95 + 0.1 * torch.rand(b, generator=generator)).view(b, 1, 1, 1).to(x.device)
    return (x * scale).clamp(0.0, 1.0), m


def _beta(options: TrainOptions, epoch_progress: float) -> float:
    if options.warmup_epochs <= 0:
        return options.beta_max
    return options.beta_max * min(1.0, epoch_progress / options.warmup_epochs)


def _indices(n: int, ctx: distributed.DistContext, seed: int, epoch: int, shuffle: bool):
    sampler = DistributedSampler(
        range(n), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def _to(t: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    t = t.to(device, non_blocking=True)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


@torch.no_grad()
def _validate(net, x, m, ctx, options: TrainOptions, config: ModelConfig) -> dict[str, float]:
    """Loss at beta_max with the same latent noise every epoch, so epochs compare fairly."""
    net.eval()
    idx = _indices(len(x), ctx, options.seed, 0, shuffle=False)
    generator = torch.Generator().manual_seed(options.seed + 7919)
    sums = torch.zeros(3, dtype=torch.float64)
    ratios = []  # per slice: squared error / that of a flat image at the slice's brain mean
    for start in range(0, len(idx), options.batch_size):
        batch = idx[start : start + options.batch_size]
        xb = _to(x[batch], ctx.device, config.channels_last)
        mb = m[batch].to(ctx.device)
        mu, logvar_z = net.encoder(xb)
        noise = torch.randn(mu.shape, generator=generator).to(ctx.device)
        rec = net.decoder(net.sample_latent(mu, logvar_z, noise))
        out = VAEOutput(rec.mean, rec.logvar, mu, logvar_z)
        terms = vae_loss(out, xb, mb, options.beta_max, config.deterministic)
        b = len(batch)
        sums += torch.tensor([terms.total.item() * b, terms.kl.item() * b, b], dtype=torch.float64)
        ratios.append(_error_ratios(xb.float(), rec.mean.float(), mb))
    sums = distributed.all_sum(sums, ctx)
    n = max(sums[2].item(), 1.0)
    ratio = torch.cat(ratios) if ratios else torch.zeros(0)
    ratio = ratio[torch.isfinite(ratio)]
    skill = 1.0 - ratio.median().item() if len(ratio) else math.nan  # this rank's shard
    return {"val_loss": sums[0].item() / n, "val_kl": sums[1].item() / n, "val_skill": skill}


def _error_ratios(x: torch.Tensor, mean: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per slice, brain squared error over the brain variance (the evaluation's skill)."""
    m = m.float()
    n = m.sum(dim=(1, 2, 3)).clamp_min(1.0)
    centre = (x * m).sum(dim=(1, 2, 3), keepdim=True) / n.view(-1, 1, 1, 1)
    flat = (((x - centre) ** 2) * m).sum(dim=(1, 2, 3))
    error = (((x - mean) ** 2) * m).sum(dim=(1, 2, 3))
    return (error / flat.where(flat > 0, torch.nan)).cpu()


class _Trainer:
    """One training run; state lives here so the epoch loop reads as the recipe."""

    def __init__(self, config, options, out_dir, ctx, progress):
        self.config, self.options, self.out_dir, self.ctx = config, options, out_dir, ctx
        self.progress = progress and ctx.is_main
        torch.manual_seed(options.seed + ctx.rank)
        self.net = build_network(config).to(ctx.device)
        if config.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.model = DistributedDataParallel(self.net) if ctx.enabled else self.net
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=options.lr)
        self.epoch = 0
        self.steps = 0  # optimiser steps taken, for the learning-rate warm-up
        self.best_val = math.inf
        self.best_weights = copy.deepcopy(self.net.state_dict())
        self.bad_epochs = 0
        self.history: list[dict[str, Any]] = []
        self.start = time.perf_counter()

    def start_from(self, state: dict[str, torch.Tensor]) -> None:
        """Fine-tuning: trained weights, a fresh optimiser; the best so far is unknown."""
        self.net.load_state_dict({k: v.float() for k, v in state.items()})
        self.best_weights = copy.deepcopy(self.net.state_dict())

    def resume(self) -> bool:
        state = load_checkpoint(self.out_dir)
        if state is None:
            return False
        if state["config"] != asdict(self.config):
            raise TrainingError(
                f"The checkpoint in {self.out_dir} belongs to a different model configuration."
            )
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.steps = int(state.get("steps", 0))
        self.best_val = float(state["best_val"])
        self.best_weights = state["best_model"]
        self.bad_epochs = int(state["bad_epochs"])
        self.history = list(state["history"])
        restore_rng(state["rng"][min(self.ctx.rank, len(state["rng"]) - 1)])
        return True

    def checkpoint(self) -> None:
        # Every rank's RNG travels with the checkpoint so each resumes its own stream.
        states = [rng_state()]
        if self.ctx.enabled:
            states = [None] * self.ctx.world_size
            torch.distributed.all_gather_object(states, rng_state())
        if self.ctx.is_main:
            save_checkpoint(
                self.out_dir,
                {
                    "config": asdict(self.config),
                    "options": asdict(self.options),
                    "model": self.net.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "epoch": self.epoch,
                    "steps": self.steps,
                    "best_val": self.best_val,
                    "best_model": self.best_weights,
                    "bad_epochs": self.bad_epochs,
                    "history": self.history,
                    "rng": states,
                },
            )
        distributed.barrier(self.ctx)

    def cap_reached(self) -> str | None:
        """The cap that ends training now ("time budget", "max steps"), if any."""
        budget, max_steps = self.options.time_budget_s, self.options.max_steps
        late = bool(budget) and time.perf_counter() - self.start > budget
        late = distributed.any_rank(late, self.ctx) if self.ctx.enabled else late
        if late:
            return "time budget"
        return "max steps" if max_steps is not None and self.steps >= max_steps else None

    def counts_for_patience(self, stats: dict[str, float]) -> bool:
        """After warm-up, and (with ``min_skill``) once every rank's shard reconstructs."""
        if self.epoch <= self.options.warmup_epochs:
            return False
        floor = self.options.min_skill
        low = floor is not None and not stats["val_skill"] >= floor  # NaN: no skill yet
        return not (distributed.any_rank(low, self.ctx) if self.ctx.enabled else low)

    def step(self, xb, mb, beta, inputs=None) -> LossTerms | None:
        """One update; ``inputs`` (a corrupted xb) is what the network sees, if given."""
        out = self.model(xb if inputs is None else inputs)
        terms = vae_loss(out, xb, mb, beta, self.config.deterministic)
        self.optimizer.zero_grad(set_to_none=True)
        bad = not bool(torch.isfinite(terms.total))
        if self.ctx.enabled:
            bad = distributed.any_rank(bad, self.ctx)  # every rank must skip together
        if bad:
            return None  # a rare blow-up: skip the step rather than poison the weights
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.steps += 1
        warm = self.options.lr_warmup_steps
        scale = min(1.0, self.steps / warm) if warm > 0 else 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.options.lr * scale
        self.optimizer.step()
        return terms

    def train_epoch(self, x, m) -> tuple[dict[str, float], str | None]:
        """One pass over this rank's shard; returns the epoch means and the cap it hit, if any."""
        opts, ctx = self.options, self.ctx
        self.net.train()
        idx = _indices(len(x), ctx, opts.seed, self.epoch, shuffle=True)
        steps = max(1, math.ceil(len(idx) / opts.batch_size))
        generator = torch.Generator().manual_seed(opts.seed * 100_003 + self.epoch * 101 + ctx.rank)
        sums, n, skipped, capped = np.zeros(3), 0, 0, None
        bar = tqdm(
            total=steps, desc=f"epoch {self.epoch + 1}/{opts.epochs}", leave=False,
            disable=not self.progress, dynamic_ncols=True,
        )  # fmt: skip
        for s in range(steps):
            batch = idx[s * opts.batch_size : (s + 1) * opts.batch_size]
            xb, mb = x[batch], m[batch]
            if opts.augment:
                xb, mb = _augment(xb, mb, generator)
            beta = _beta(opts, self.epoch + s / steps)
            noisy = None
            if opts.denoise_std > 0:
                noisy = _to(coarse_noise(xb, mb, opts.denoise_std, generator), ctx.device,
                            self.config.channels_last)
            terms = self.step(
                _to(xb, ctx.device, self.config.channels_last), mb.to(ctx.device), beta, noisy
            )
            if terms is None:
                skipped += 1
            else:
                b = len(batch)
                sums += np.array([terms.total.item(), terms.nll.item(), terms.kl.item()]) * b
                n += b
                bar.set_postfix(
                    loss=f"{sums[0] / n:.1f}", kl=f"{sums[2] / n:.1f}", val=self._last_val()
                )
            bar.update()
            capped = self.cap_reached()
            if capped:
                break
        bar.close()
        n = max(n, 1)
        stats = {"train_loss": sums[0] / n, "train_nll": sums[1] / n, "train_kl": sums[2] / n}
        stats |= {"beta": beta, "skipped_steps": skipped, "steps": s + 1}
        return stats, capped

    def _last_val(self) -> str:
        return f"{self.history[-1]['val_loss']:.1f}" if self.history else "-"

    def run(self, x, m, vx, vm) -> str:
        opts = self.options
        while self.epoch < opts.epochs:
            t0 = time.perf_counter()
            stats, capped = self.train_epoch(x, m)
            stats |= _validate(self.net, vx, vm, self.ctx, opts, self.config)
            self.epoch += 1
            improved = stats["val_loss"] < self.best_val
            if improved:
                self.best_val = stats["val_loss"]
                self.best_weights = copy.deepcopy(self.net.state_dict())
                self.bad_epochs = 0
            elif self.counts_for_patience(stats):
                self.bad_epochs += 1
            stats |= {"epoch": self.epoch, "seconds": round(time.perf_counter() - t0, 2)}
            self.history.append({k: _plain(v) for k, v in stats.items()})
            self.checkpoint()
            if self.progress:
                tqdm.write(
                    f"epoch {self.epoch}: loss {stats['train_loss']:.1f} "
                    f"kl {stats['train_kl']:.1f} val {stats['val_loss']:.1f}"
                    + (" *" if improved else "")
                )
            if capped:
                return capped
            if self.bad_epochs >= opts.patience:
                return "early stopping"
        return "epochs"

    def best_network(self) -> BayesianVAE:
        net = build_network(self.config)
        net.load_state_dict({k: v.cpu() for k, v in self.best_weights.items()})
        if self.config.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net.eval()


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, np.floating | float) else value


def train_model(
    config: ModelConfig,
    train_images: np.ndarray,
    val_images: np.ndarray,
    out_dir: Path,
    options: TrainOptions,
    resume: bool = False,
    progress: bool = True,
    train_masks: np.ndarray | None = None,
    val_masks: np.ndarray | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train on (N, S, S) slices in [0, 1]; checkpoints in out_dir; the best network returned.

    ``initial_state`` (weights of the same configuration) starts a fresh run from trained
    weights; a resumed checkpoint takes precedence over it.
    """
    size = config.image_size
    for name, arr in (("training", train_images), ("validation", val_images)):
        if arr.ndim != 3 or arr.shape[1:] != (size, size) or len(arr) == 0:
            raise TrainingError(
                f"The {name} slices have shape {arr.shape}; expected (N, {size}, {size})."
            )
    if options.num_threads > 0:
        torch.set_num_threads(options.num_threads)
    ctx = distributed.setup(options.device)
    try:
        trainer = _Trainer(config, options, Path(out_dir), ctx, progress)
        if initial_state is not None:
            trainer.start_from(initial_state)
        notes = []
        if resume:
            notes.append(
                f"resumed after epoch {trainer.epoch}" if trainer.resume() else "no checkpoint"
            )
        x, m = _tensors(train_images, train_masks)
        vx, vm = _tensors(val_images, val_masks)
        stopped = trainer.run(x, m, vx, vm)
        return TrainResult(
            best_val_loss=trainer.best_val,
            epochs_run=trainer.epoch,
            history=trainer.history,
            wall_seconds=time.perf_counter() - trainer.start,
            best_state=trainer.best_network(),
            stopped=stopped,
            notes=notes,
        )
    finally:
        distributed.teardown(ctx)


if __name__ == "__main__":  # what torchrun launches; the parser lives in train_cli.py
    from bvae_viewer.nn.train_cli import main

    raise SystemExit(main())
