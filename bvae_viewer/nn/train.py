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
from tqdm import tqdm

from bvae_viewer.nn import distributed
from bvae_viewer.nn.checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.denoise import coarse_noise
from bvae_viewer.nn.losses import LossTerms, vae_loss
from bvae_viewer.nn.network import BayesianVAE, build_network
from bvae_viewer.nn.train_steps import augment, beta_at, indices, tensors, to_device, validate


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
    nll_power: float = 0.0  # > 0: beta-NLL's weighting of the pixels (losses.variance_weights)
    # Which validation number picks the weights kept: "loss" (NLL + beta KL) or "skill" (the
    # mean's reconstruction skill, which the anomaly score leans on; see losses).
    select_on: str = "loss"
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
        self.best_val = math.inf  # the selection value (selection_value) of the kept weights
        self.best_epoch = 0  # 0: the starting weights (random, or fine-tuning's)
        self.start_stats: dict[str, float] | None = None  # fine-tuning's bar (measure_start)
        self.best_weights = copy.deepcopy(self.net.state_dict())
        self.bad_epochs = 0
        self.history: list[dict[str, Any]] = []
        self.start = time.perf_counter()

    def start_from(self, state: dict[str, torch.Tensor]) -> None:
        """Fine-tuning: trained weights, a fresh optimiser; the best so far is unknown."""
        self.net.load_state_dict({k: v.float() for k, v in state.items()})
        self.best_weights = copy.deepcopy(self.net.state_dict())

    def measure_start(self, vx, vm) -> None:
        """Fine-tuning: the starting weights are the bar, so a run that only gets worse on
        validation hands them back unchanged instead of its least bad epoch."""
        self.start_stats = validate(self.net, vx, vm, self.ctx, self.options, self.config)
        self.best_val = self.selection_value(self.start_stats)

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
        self.best_epoch = int(state.get("best_epoch", 0))
        self.start_stats = state.get("start_stats")
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
                    "best_epoch": self.best_epoch,
                    "start_stats": self.start_stats,
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

    def selection_value(self, stats: dict[str, float]) -> float:
        """Lower is better: the validation loss, or minus the skill (NaN never wins)."""
        if self.options.select_on == "skill":
            skill = stats["val_skill"]
            return -skill if math.isfinite(skill) else math.inf
        return stats["val_loss"]

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
        terms = vae_loss(
            out, xb, mb, beta, self.config.deterministic, nll_power=self.options.nll_power
        )
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
        idx = indices(len(x), ctx, opts.seed, self.epoch, shuffle=True)
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
                xb, mb = augment(xb, mb, generator)
            beta = beta_at(opts, self.epoch + s / steps)
            noisy = None
            if opts.denoise_std > 0:
                noisy = to_device(
                    coarse_noise(xb, mb, opts.denoise_std, generator),
                    ctx.device,
                    self.config.channels_last,
                )
            terms = self.step(
                to_device(xb, ctx.device, self.config.channels_last), mb.to(ctx.device), beta, noisy
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
            stats |= validate(self.net, vx, vm, self.ctx, opts, self.config)
            self.epoch += 1
            value = self.selection_value(stats)
            improved = value < self.best_val
            if improved:
                self.best_val = value
                self.best_epoch = self.epoch
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
                    f"kl {stats['train_kl']:.1f} val {stats['val_loss']:.1f} "
                    f"skill {stats['val_skill']:.3f}" + (" *" if improved else "")
                )
            if capped:
                return capped
            if self.bad_epochs >= opts.patience:
                return "early stopping"
        return "epochs"

    def best_val_loss(self) -> float:
        """The validation loss of the kept weights, whatever picked them."""
        if not self.best_epoch:
            return self.start_stats["val_loss"] if self.start_stats else self.best_val
        if self.options.select_on == "loss":
            return self.best_val
        return float(self.history[self.best_epoch - 1]["val_loss"])

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
        x, m = tensors(train_images, train_masks)
        vx, vm = tensors(val_images, val_masks)
        if initial_state is not None and trainer.epoch == 0:
            trainer.measure_start(vx, vm)
            notes.append(
                f"starting weights: validation loss {trainer.start_stats['val_loss']:.1f}, "
                f"skill {trainer.start_stats['val_skill']:.3f}"
            )
        stopped = trainer.run(x, m, vx, vm)
        if initial_state is not None and trainer.best_epoch == 0:
            notes.append("no epoch beat the starting weights: they are returned unchanged")
        return TrainResult(
            best_val_loss=trainer.best_val_loss(),
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
