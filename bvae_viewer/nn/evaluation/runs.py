"""The evaluation's rows: train each network on the same data with the same budget, then score.

Every row is scored on the same validation and test slices. Validation slices choose the
row's alpha and thresholds (the app's calibration rules); test slices are only measured.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from bvae_viewer.analysis.evaluation.slices import OperatingPoint, fit_operating_point
from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.evaluation.adae import adae_config, adae_maps, train_adae
from bvae_viewer.nn.evaluation.data import EvalCase, EvalData
from bvae_viewer.nn.evaluation.preset import EvalPreset
from bvae_viewer.nn.evaluation.rd_rows import rd_rows
from bvae_viewer.nn.evaluation.scoring import (
    MapFn,
    engine_seconds_per_volume,
    ensemble_maps,
    mean_decoding_maps,
    score_cases,
    tta_maps,
    vae_maps,
)
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.train import TrainOptions, train_model

# Ablations: switches on the base configuration (ModelConfig field -> value).
ABLATION_SWITCHES: dict[str, dict[str, Any]] = {
    "no_attention": {"attention": False},
    "no_aleatoric": {"aleatoric": False},
    "deterministic_ae": {"deterministic": True, "aleatoric": False},
}


@dataclass
class RunContext:
    data: EvalData
    preset: EvalPreset
    seed: int
    device: torch.device
    work_dir: Path  # scratch space for training checkpoints
    log: Callable[[str], None]


def _parameters(*nets: BayesianVAE) -> float:
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
        device=str(ctx.device),
    )


def train_network(ctx: RunContext, config: ModelConfig, seed: int) -> tuple[BayesianVAE, dict]:
    """One network on the normal training slices, early stopping on validation ones."""
    p = ctx.preset
    options = preset_options(ctx, seed)
    scratch = ctx.work_dir / f"{config.name}-{seed}"
    ctx.log(f"training {config.name} (seed {seed}, budget {p.budget_s:.0f} s)")
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
    meta = {
        "epochs_run": result.epochs_run,
        "stopped": result.stopped,
        "seconds": round(result.wall_seconds, 1),
        "steps": sum(int(h.get("steps", 0)) for h in result.history),
        "best_val_loss": result.best_val_loss,
        "n_train_slices": len(ctx.data.train.images),
    }
    ctx.log(f"  {result.epochs_run} epochs, {meta['steps']} steps, stopped by {result.stopped}")
    return result.best_state, meta


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


def _vae_meta(
    ctx: RunContext, net: BayesianVAE, training: dict | None, samples: int | None = None
) -> dict[str, Any]:
    """Config, size and the app engine's time per whole volume for a VAE-type network."""
    samples = ctx.preset.samples if samples is None else samples
    seconds = engine_seconds_per_volume(net, ctx.data.speed, samples, ctx.device)
    return {
        "config": asdict(net.config),
        "training": training,
        "parameters_m": _parameters(net),
        "speed": {"engine_s_per_volume": seconds, "engine_volumes": len(ctx.data.speed)},
    }


def bundled_rows(ctx: RunContext, bundle: Bundle, test: list[EvalCase]) -> list[RowRecord]:
    """Table 1 for the given model: its own size, alpha and thresholds from model.json."""
    cal = bundle.info.calibration
    op = OperatingPoint(cal.alpha, cal.score_threshold, cal.uncertainty_threshold, "model.json")
    net, size = bundle.network, bundle.config.image_size
    meta = _vae_meta(ctx, net, None) | {"model": bundle.info.name, "sha256": bundle.info.sha256}
    maps = vae_maps(net, ctx.preset.samples, ctx.seed, ctx.device)
    return [score_row(ctx, "bundled", maps, size, meta, op=op, test=test)]


def config_rows(ctx: RunContext, kind: str) -> list[RowRecord]:
    """The paper or fast configuration; the base one also gives the no-epistemic ablation."""
    config = ctx.preset.config(kind)
    net, training = train_network(ctx, config, ctx.seed)
    size, samples = config.image_size, ctx.preset.samples
    rows = [
        score_row(
            ctx,
            kind,
            vae_maps(net, samples, ctx.seed, ctx.device),
            size,
            _vae_meta(ctx, net, training),
        )
    ]
    if kind == ctx.preset.base:
        meta = {
            "config": asdict(config),
            "training": training,
            "parameters_m": _parameters(net),
            "inference": "the base network decoding z = mu once (K=1)",
        }
        rows.append(score_row(ctx, "no_epistemic", mean_decoding_maps(net, ctx.device), size, meta))
    return rows


def ablation_rows(ctx: RunContext, name: str) -> list[RowRecord]:
    config = replace(ctx.preset.base_config, name=name, **ABLATION_SWITCHES[name])
    net, training = train_network(ctx, config, ctx.seed)
    # The deterministic autoencoder's K samples would all be equal: one pass is the same.
    samples = 1 if config.deterministic else ctx.preset.samples
    maps = vae_maps(net, samples, ctx.seed, ctx.device)
    meta = _vae_meta(ctx, net, training, samples)
    return [score_row(ctx, name, maps, config.image_size, meta)]


def cnn_config(base: ModelConfig, name: str, dropout: float = 0.0) -> ModelConfig:
    """The baselines' network: the base conv backbone without attention, z = mu, with the
    per-pixel variance head (Kendall and Gal; Lakshminarayanan et al.)."""
    return replace(base, name=name, attention=False, deterministic=True, dropout=dropout)


def mc_dropout_rows(ctx: RunContext) -> list[RowRecord]:
    config = cnn_config(ctx.preset.base_config, "mc_dropout", ctx.preset.dropout)
    net, training = train_network(ctx, config, ctx.seed)
    maps = vae_maps(net, ctx.preset.samples, ctx.seed, ctx.device)  # K dropout masks
    return [score_row(ctx, "mc_dropout", maps, config.image_size, _vae_meta(ctx, net, training))]


def ensemble_rows(ctx: RunContext) -> list[RowRecord]:
    """Deep ensemble of differently seeded members; TTA on the first member alone."""
    config = cnn_config(ctx.preset.base_config, "ensemble_member")
    members, trainings = [], []
    for i in range(ctx.preset.ensemble_members):
        net, training = train_network(ctx, config, ctx.seed + 1000 + i)
        members.append(net)
        trainings.append(training)
    total = {
        "members": len(members),
        "epochs_run": "/".join(str(t["epochs_run"]) for t in trainings),
        "stopped": trainings[0]["stopped"],
        "seconds": round(sum(t["seconds"] for t in trainings), 1),
        "member_trainings": trainings,
    }
    size = config.image_size
    meta = {"config": asdict(config), "training": total, "parameters_m": _parameters(*members)}
    rows = [score_row(ctx, "deep_ensemble", ensemble_maps(members, ctx.device), size, meta)]
    meta = {
        "config": asdict(config),
        "training": trainings[0],
        "parameters_m": _parameters(members[0]),
        "inference": f"{ctx.preset.tta_augmentations} views of ensemble member 1",
    }
    maps = tta_maps(members[0], ctx.preset.tta_augmentations, ctx.device)
    rows.append(score_row(ctx, "tta", maps, size, meta))
    return rows


def adae_rows(ctx: RunContext) -> list[RowRecord]:
    p = ctx.preset
    config = adae_config(p.base_config)
    options = preset_options(ctx, ctx.seed)  # ADAE's own loop reads no early-stopping setting
    ctx.log(f"training adae (generator and discriminator, budget {p.budget_s:.0f} s)")
    t0 = time.perf_counter()
    result = train_adae(
        config, ctx.data.train.images, ctx.data.stopping.images, options, progress=p.progress_bars
    )
    training = {
        "epochs_run": result.epochs_run,
        "stopped": result.stopped,
        "seconds": round(time.perf_counter() - t0, 1),
        "final_losses": result.history[-1] if result.history else None,
    }
    ctx.log(f"  {result.epochs_run} epochs, stopped by {result.stopped}")
    meta = {
        "config": asdict(config),
        "training": training,
        "parameters_m": _parameters(result.generator, result.discriminator),
    }
    rows = []
    for name, against in (("adae", "generated"), ("adae_x", "input")):
        maps = adae_maps(result.generator, result.discriminator, ctx.device, against)
        rows.append(score_row(ctx, name, maps, config.image_size, dict(meta), alpha=1.0))
    return rows


def group_rows(ctx: RunContext, group: str) -> list[RowRecord]:
    """The rows of one group (the given model's group is handled by the caller)."""
    if group in ("paper", "fast"):
        return config_rows(ctx, group)
    if group in ABLATION_SWITCHES:
        return ablation_rows(ctx, group)
    if group == "mc_dropout":
        return mc_dropout_rows(ctx)
    if group == "ensemble":
        return ensemble_rows(ctx)
    if group == "adae":
        return adae_rows(ctx)
    if group == "prob_unet":  # imported here: that module builds on this one
        from bvae_viewer.nn.evaluation.prob_unet_rows import prob_unet_rows

        return prob_unet_rows(ctx)
    if group == "reverse_distillation":
        return rd_rows(ctx)
    raise ValueError(f"unknown evaluation group '{group}'")
