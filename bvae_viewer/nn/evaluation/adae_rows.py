"""The `adae` group: the adversarial dual autoencoder baseline, scored two ways."""

from __future__ import annotations

import time
from dataclasses import asdict

from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.evaluation.adae import adae_config, adae_maps, train_adae
from bvae_viewer.nn.evaluation.runs import (
    RowsFn,
    RunContext,
    parameters_m,
    preset_options,
    score_row,
    training_record,
)


def adae_rows(ctx: RunContext) -> list[RowRecord]:
    p = ctx.preset
    config = adae_config(p.base_config)
    options = preset_options(ctx, ctx.seed)  # its patience, warm-up and min_skill as the VAEs
    ctx.log(f"training adae (generator and discriminator, to a plateau; cap {p.budget_s:.0f} s)")
    t0 = time.perf_counter()
    result = train_adae(
        config, ctx.data.train.images, ctx.data.stopping.images, ctx.data.stopping.masks, options,
        progress=p.progress_bars,
    )
    training = training_record(
        ctx, "adae", result.epochs_run, result.steps, time.perf_counter() - t0, result.stopped,
        final_losses=result.history[-1] if result.history else None,
    )  # fmt: skip
    ctx.log(f"  {result.epochs_run} epochs, {result.steps} steps, stopped: {training['stopped']}")
    meta = {
        "config": asdict(config),
        "training": training,
        "parameters_m": parameters_m(result.generator, result.discriminator),
    }
    rows = []
    for name, against in (("adae", "generated"), ("adae_x", "input")):
        maps = adae_maps(result.generator, result.discriminator, ctx.device, against)
        rows.append(score_row(ctx, name, maps, config.image_size, dict(meta)))
    return rows


GROUPS: dict[str, RowsFn] = {"adae": adae_rows}
