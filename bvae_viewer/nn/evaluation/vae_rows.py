"""The Bayesian VAE family's groups: the paper and fast configurations, the ablations, and the
uncertainty baselines on the same backbone (MC dropout, deep ensemble with TTA)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.evaluation.runs import (
    RowsFn,
    RunContext,
    parameters_m,
    score_row,
    train_network,
    vae_meta,
)
from bvae_viewer.nn.evaluation.scoring import (
    ensemble_maps,
    mean_decoding_maps,
    tta_maps,
    vae_maps,
)

# Ablations: switches on the base configuration (ModelConfig field -> value).
ABLATION_SWITCHES: dict[str, dict[str, Any]] = {
    "no_attention": {"attention": False},
    "no_aleatoric": {"aleatoric": False},
    "deterministic_ae": {"deterministic": True, "aleatoric": False},
}


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
            vae_meta(ctx, net, training),
        )
    ]
    if kind == ctx.preset.base:
        meta = {
            "config": asdict(config),
            "training": training,
            "parameters_m": parameters_m(net),
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
    meta = vae_meta(ctx, net, training, samples)
    return [score_row(ctx, name, maps, config.image_size, meta)]


def cnn_config(base: ModelConfig, name: str, dropout: float = 0.0) -> ModelConfig:
    """The baselines' network: the base conv backbone without attention, z = mu, with the
    per-pixel variance head (Kendall and Gal; Lakshminarayanan et al.)."""
    return replace(base, name=name, attention=False, deterministic=True, dropout=dropout)


def mc_dropout_rows(ctx: RunContext) -> list[RowRecord]:
    config = cnn_config(ctx.preset.base_config, "mc_dropout", ctx.preset.dropout)
    net, training = train_network(ctx, config, ctx.seed)
    maps = vae_maps(net, ctx.preset.samples, ctx.seed, ctx.device)  # K dropout masks
    return [score_row(ctx, "mc_dropout", maps, config.image_size, vae_meta(ctx, net, training))]


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
        "steps": sum(t["steps"] for t in trainings),
        "seconds": round(sum(t["seconds"] for t in trainings), 1),
        "device": trainings[0]["device"],
        "stopped": "/".join(t["stopped"] for t in trainings),
        "member_trainings": trainings,
    }
    size = config.image_size
    meta = {"config": asdict(config), "training": total, "parameters_m": parameters_m(*members)}
    rows = [score_row(ctx, "deep_ensemble", ensemble_maps(members, ctx.device), size, meta)]
    meta = {
        "config": asdict(config),
        "training": trainings[0],
        "parameters_m": parameters_m(members[0]),
        "inference": f"{ctx.preset.tta_augmentations} views of ensemble member 1",
    }
    maps = tta_maps(members[0], ctx.preset.tta_augmentations, ctx.device)
    rows.append(score_row(ctx, "tta", maps, size, meta))
    return rows


def _ablation(name: str) -> RowsFn:
    return lambda ctx: ablation_rows(ctx, name)


GROUPS: dict[str, RowsFn] = {
    "paper": lambda ctx: config_rows(ctx, "paper"),
    "fast": lambda ctx: config_rows(ctx, "fast"),
    **{name: _ablation(name) for name in ABLATION_SWITCHES},
    "mc_dropout": mc_dropout_rows,
    "ensemble": ensemble_rows,
}
