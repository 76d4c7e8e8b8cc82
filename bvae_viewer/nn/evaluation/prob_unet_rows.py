"""The Probabilistic U-Net rows: with and without the supervised uncertainty loss.

Unlike every other row, this is supervised segmentation: it trains on the labelled slices
(tumour and tumour-free) of the training cases, with several graders' masks per slice, not on
normal slices alone. Its slice score is the predicted tumour area (the mean of the K samples'
tumour probability over the brain, i.e. the soft tumour fraction of the slice), so slice
ROC / PR AUC compare with the paper's Prob U-Net row; its uncertainty (the per-pixel variance
across the K samples, as "aleatoric") drives the abstention metrics like the other rows'.
The segmentation metrics (Dice, GED, diversity, uncertainty correlation) go in the row's
metadata, measured on the same test slices where a grader marks tumour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from bvae_viewer.analysis.evaluation.prob_unet_data import GradedSlices, load_graded
from bvae_viewer.analysis.evaluation.segmentation import SegmentationTally
from bvae_viewer.analysis.evaluation.slices import slice_key
from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.evaluation.preset import EvalPreset
from bvae_viewer.nn.evaluation.runs import (
    RowsFn,
    RunContext,
    preset_options,
    score_row,
    training_record,
)
from bvae_viewer.nn.evaluation.scoring import MapFn
from bvae_viewer.nn.prob_unet import ProbUNet, ProbUNetConfig, prior_maps, sample_variance
from bvae_viewer.nn.prob_unet_train import (
    LEARNING_RATE,
    LR_WARMUP_STEPS,
    SUPERVISED_WEIGHT,
    train_prob_unet,
)
from bvae_viewer.nn.producers import slice_noise

ROWS = (("prob_unet", 0.0), ("prob_unet_sup", SUPERVISED_WEIGHT))
# The supervised row draws extra prior samples per step (about twice the cost of a step):
# at equal wall time it saw half the slices (923 steps against 1,982 at 1,200 s), which
# measured the budget, not the loss. So it trains for as many steps as the plain row did,
# within this many times the preset's time budget.
SUPERVISED_BUDGET_FACTOR = 3.0


def prob_unet_size(preset: EvalPreset) -> int:
    """The slice size the U-Net trains and is scored at (its scores are per slice, so a
    coarser grid changes no label)."""
    return preset.prob_unet_size or preset.image_size


def prob_unet_config(preset: EvalPreset) -> ProbUNetConfig:
    """Levels down to 8-16 px; the quick preset's narrow widths when it narrows the VAEs."""
    size = prob_unet_size(preset)
    channels: tuple[int, ...] = (16, 32, 64, 128)
    if "channels" in preset.config_overrides:
        channels = tuple(preset.config_overrides["channels"])
    levels = max(2, min(len(channels), int(np.log2(size / 8)) + 1))
    return ProbUNetConfig(image_size=size, channels=channels[:levels])


def prob_unet_maps(net: ProbUNet, samples: int, seed: int, device: torch.device) -> MapFn:
    """K prior samples per slice (noise fixed per slice): mean probability and its variance."""
    net = net.to(device).eval()
    latent = net.config.latent_dim

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        noise = torch.stack([slice_noise(seed, k, samples, latent) for k in keys]).to(x.device)
        # error, the score: the predicted tumour area over the brain.
        return prior_maps(net, x, noise)

    return run


@torch.inference_mode()
def segmentation_metrics(
    net: ProbUNet, graded: GradedSlices, samples: int, seed: int, device: torch.device
) -> dict[str, Any]:
    """Dice, GED, diversity and uncertainty correlation on slices where a grader marks tumour."""
    net = net.to(device).eval()
    tally = SegmentationTally()
    marked = np.flatnonzero(graded.graders.reshape(len(graded), -1).any(axis=1))
    for start in range(0, len(marked), 16):
        idx = marked[start : start + 16]
        keys = [slice_key(str(graded.case_ids[i]), int(graded.slice_index[i])) for i in idx]
        noise = torch.stack([slice_noise(seed, k, samples, net.config.latent_dim) for k in keys])
        x = torch.from_numpy(graded.images[idx]).unsqueeze(1).to(device)
        probs = net.prior_samples(x, noise.to(device))
        variance = sample_variance(probs).cpu().numpy()
        probs = probs.cpu().numpy()
        for j, i in enumerate(idx):
            tally.add(
                probs[j], graded.grader_masks(i), graded.tumour[i], variance[j], graded.brain[i]
            )
    return tally.summary()


def _train(
    ctx: RunContext, config: ProbUNetConfig, train: GradedSlices, steps: int | None
) -> tuple[ProbUNet, dict]:
    """Train to the preset's caps, or for ``steps`` steps (within a larger wall cap).

    No plateau rule: its validation cases carry no grader masks, so there is no
    early-stopping loss; its caps end its training (and the row records which).
    """
    p = ctx.preset
    budget = p.budget_s if steps is None else SUPERVISED_BUDGET_FACTOR * p.budget_s
    options = replace(
        preset_options(ctx, ctx.seed),
        lr=LEARNING_RATE,
        lr_warmup_steps=LR_WARMUP_STEPS,
        time_budget_s=budget,
    )
    limit = "" if steps is None else f", {steps} steps like the plain row"
    ctx.log(f"training {config.name} (supervised segmentation, cap {budget:.0f} s{limit})")
    result = train_prob_unet(
        config,
        train.images,
        train.graders,
        train.n_graders,
        options,
        progress=p.progress_bars,
        max_steps=p.max_steps if steps is None else steps,
    )
    stopped = result.stopped
    if steps is not None and stopped == "max steps":
        stopped = "the plain row's steps"  # by design, not a cap
    training = training_record(
        ctx, config.name, result.epochs_run, result.steps, result.seconds, stopped,
        has_plateau=False,
        final_losses=result.history[-1] if result.history else None,
        first_losses=result.history[0] if result.history else None,
        n_train_slices=len(train),
        n_train_tumour_slices=int(train.tumour.reshape(len(train), -1).any(axis=1).sum()),
    )  # fmt: skip
    ctx.log(f"  {result.epochs_run} epochs, {result.steps} steps, stopped: {training['stopped']}")
    return result.network, training


def prob_unet_rows(ctx: RunContext) -> list[RowRecord]:
    """Two Prob U-Nets on the same labelled training slices; scored like every other row."""
    size, samples = prob_unet_size(ctx.preset), ctx.preset.samples
    ctx.log("loading training and test cases with their grader masks")
    train = load_graded(ctx.data.split.train, size)
    test = load_graded(
        [c for c in ctx.data.split.test], size, {c.case_id: c.slice_index for c in ctx.data.test}
    )
    graders = {
        "n": train.n_graders,
        "source": {"train": train.source, "test": test.source},
        "note": "stored beside the seg (CASE_graders.nii.gz)"
        if {train.source, test.source} == {"stored"}
        else "generated here from the seg with a fixed seed (no stored grader masks)",
    }
    rows, plain_steps = [], None
    for name, weight in ROWS:
        config = replace(prob_unet_config(ctx.preset), name=name, uncertainty_weight=weight)
        net, training = _train(ctx, config, train, plain_steps if weight > 0 else None)
        if weight == 0:
            plain_steps = training["steps"]
        seg = segmentation_metrics(net, test, samples, ctx.seed, ctx.device)
        meta = {
            "config": asdict(config),
            "training": training,
            "parameters_m": sum(p.numel() for p in net.parameters()) / 1e6,
            "segmentation": seg,
            "graders": graders,
            "supervised": "trained on labelled slices (tumour and tumour-free) of the training "
            "cases with grader masks; the other rows learn from normal slices only",
            "score": "predicted tumour area: mean over the brain of the samples' mean tumour "
            "probability",
        }
        maps = prob_unet_maps(net, samples, ctx.seed, ctx.device)
        rows.append(score_row(ctx, name, maps, size, meta, alpha=1.0))
        ctx.log(
            f"  {name}: Dice {seg['dice_mean']}, GED {seg['ged']}, diversity "
            f"{seg['diversity']}, uncertainty r {seg['uncertainty_corr']}"
        )
    return rows


GROUPS: dict[str, RowsFn] = {"prob_unet": prob_unet_rows}
