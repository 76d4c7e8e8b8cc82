"""What every group of rows shares: the run's context, training a network to the preset's
stopping rule (a plateau, within its caps) with a uniform training record, and scoring a row
on the same validation and test slices as every other row.

Validation slices choose the row's operating point (the app's calibration rules); test
slices are only measured. The groups themselves are in their own modules (groups.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from bvae_viewer.analysis.evaluation.data import EvalCase, EvalData
from bvae_viewer.analysis.evaluation.slices import OperatingPoint, fit_operating_point
from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.device import device_label
from bvae_viewer.nn.evaluation.preset import EvalPreset
from bvae_viewer.nn.evaluation.scoring import MapFn, engine_seconds_per_volume, score_cases
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.train import TrainOptions, train_model


@dataclass
class RunContext:
    data: EvalData
    preset: EvalPreset
    seed: int
    device: torch.device
    work_dir: Path  # scratch space for training checkpoints
    log: Callable[[str], None]
    bundle: Bundle | None = None  # the given model (the "bundled" group's)
    note: Callable[[str], None] = lambda _text: None  # a line in metrics.json's notes


RowsFn = Callable[[RunContext], list[RowRecord]]  # a group: the rows it trains and scores

# The training loops' own words for why they stopped -> the record's: a plateau is the rule
# working; "cap: ..." is the safety net biting before the network plateaued.
STOP_REASONS = {
    "early stopping": "plateau",
    "time budget": "cap: wall",
    "epochs": "cap: epochs",
    "max steps": "cap: steps",
}


def stop_reason(stopped: str) -> str:
    return STOP_REASONS.get(stopped, stopped)


def training_record(
    ctx: RunContext,
    name: str,
    epochs: int,
    steps: int,
    seconds: float,
    stopped: str,
    has_plateau: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """What every row says about its network's training; a cap that bit goes in the notes
    (where the network has a plateau rule at all: ``has_plateau``)."""
    reason = stop_reason(stopped)
    if reason.startswith("cap") and has_plateau:
        ctx.note(
            f"{name}: training stopped at its {reason[5:]} cap ({epochs} epochs, {steps} steps, "
            f"{seconds:.0f} s) before its early-stopping loss plateaued."
        )
    return {
        "epochs_run": epochs,
        "steps": steps,
        "seconds": round(seconds, 1),
        "device": device_label(ctx.device),
        "stopped": reason,
        **extra,
    }


def parameters_m(*nets: BayesianVAE) -> float:
    return sum(p.numel() for n in nets for p in n.parameters()) / 1e6


def preset_options(ctx: RunContext, seed: int) -> TrainOptions:
    """The preset's training settings: the same for every network it trains."""
    p = ctx.preset
    return TrainOptions(
        epochs=p.epochs,
        batch_size=p.batch_size,
        lr=p.lr,
        warmup_epochs=p.warmup_epochs,
        patience=p.patience,
        seed=seed,
        time_budget_s=p.budget_s,
        max_steps=p.max_steps,
        min_skill=p.min_skill,
        select_on=p.select_on,
        device=str(ctx.device),
    )


def train_network(ctx: RunContext, config: ModelConfig, seed: int) -> tuple[BayesianVAE, dict]:
    """One network on the normal training slices, early stopping on validation ones."""
    p = ctx.preset
    options = replace(preset_options(ctx, seed), time_budget_s=p.wall_cap(config))
    scratch = ctx.work_dir / f"{config.name}-{seed}"
    ctx.log(f"training {config.name} (seed {seed}, to a plateau; cap {_caps(p, config)})")
    try:
        result = train_model(
            config,
            ctx.data.train.images,
            ctx.data.stopping.images,
            scratch,
            options,
            progress=p.progress_bars,
            train_masks=ctx.data.train.masks,
            val_masks=ctx.data.stopping.masks,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # checkpoints are large and not needed
    last = result.history[-1] if result.history else {}
    meta = training_record(
        ctx,
        f"{config.name} (seed {seed})",
        result.epochs_run,
        sum(int(h.get("steps", 0)) for h in result.history),
        result.wall_seconds,
        result.stopped,
        best_val_loss=result.best_val_loss,
        val_skill=last.get("val_skill"),
        n_train_slices=len(ctx.data.train.images),
    )
    ctx.log(
        f"  {meta['epochs_run']} epochs, {meta['steps']} steps, {meta['seconds']:.0f} s, "
        f"stopped: {meta['stopped']} (validation skill {_fmt(meta['val_skill'])})"
    )
    return result.best_state, meta


def _caps(p: EvalPreset, config: ModelConfig) -> str:
    steps = "" if p.max_steps is None else f", {p.max_steps} steps"
    return f"{p.epochs} epochs{steps}, {p.wall_cap(config):.0f} s"


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "-"


def score_row(
    ctx: RunContext,
    name: str,
    map_fn: MapFn,
    size: int,
    meta: dict[str, Any],
    alpha: float | None = None,
    op: OperatingPoint | None = None,
    test: list[EvalCase] | None = None,
) -> RowRecord:
    """Validation slices -> operating point (unless given); test slices -> the row."""
    batch, dev = ctx.preset.infer_batch, ctx.device
    val = None
    if op is None:
        val, _ = score_cases(map_fn, ctx.data.val, size, dev, batch)
        op = fit_operating_point(val, alpha)
    cases = ctx.data.test if test is None else test
    scored, per_slice = score_cases(map_fn, cases, size, dev, batch)
    speed = dict(meta.pop("speed", {}))
    speed |= {
        "s_per_slice": per_slice,
        "s_per_volume": per_slice * ctx.data.mean_brain_slices,
    }
    ctx.log(f"  {name}: scored {len(scored)} test slices ({per_slice * 1000:.1f} ms/slice)")
    return RowRecord(name, scored, op, meta | {"speed": speed, "image_size": size}, val)


def vae_meta(
    ctx: RunContext, net: BayesianVAE, training: dict | None, samples: int | None = None
) -> dict[str, Any]:
    """Config, size and the app engine's time per whole volume for a VAE-type network."""
    samples = ctx.preset.samples if samples is None else samples
    seconds = engine_seconds_per_volume(net, ctx.data.speed, samples, ctx.device)
    return {
        "config": asdict(net.config),
        "training": training,
        "parameters_m": parameters_m(net),
        "speed": {"engine_s_per_volume": seconds, "engine_volumes": len(ctx.data.speed)},
    }
