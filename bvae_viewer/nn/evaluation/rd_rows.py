"""The `reverse_distillation` group: RD alone and with each kind of uncertainty.

One teacher is pretrained (denoising-inpainting, see nn/reverse_distillation.py) and
``ensemble_members`` students are trained on it, every network with the preset's budget.
Rows, all on the same validation and test slices as the other rows:

- ``rd``: student 1, one pass, no uncertainty (the score alone);
- ``rd_ensemble``: all students; map = their mean, uncertainty = their variance;
- ``rd_mc_dropout``: student 1 with bottleneck dropout on, ``samples`` masks;
- ``rd_tta``: student 1 on ``tta_augmentations`` views, maps mapped back.

A slice's anomaly score is the mean of the top 5 % of its brain pixels of the map (RD's
map is not a squared error, so it goes in ``recon_error`` with alpha fixed at 1 and no
pixel score); its uncertainty (``unc_total`` = ``unc_epistemic``) is the brain mean of the
per-pixel variance of the samples' maps. Validation slices choose the thresholds as for
every other row, so ROC/PR AUC and the abstention metrics come out the same way.

Seconds per volume: the scoring loop's time per brain slice times the mean number of brain
slices per test volume, as for the other rows scored in the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from bvae_viewer.analysis.evaluation.data import EvalCase
from bvae_viewer.analysis.evaluation.slices import ScoredSlices, fit_operating_point, slice_key
from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.evaluation.runs import RowsFn, RunContext, training_record
from bvae_viewer.nn.rd_sampling import (
    ensemble_sample_maps,
    mc_dropout_sample_maps,
    single_maps,
    summarise_samples,
    tta_sample_maps,
)
from bvae_viewer.nn.rd_training import RDModels, train_rd
from bvae_viewer.nn.reverse_distillation import (
    RDConfig,
    RDTrainOptions,
    image_scores,
    parameters_m,
)
from bvae_viewer.nn.tta import tta_views

# (B, 1, S, S) slices and their stable keys -> (B, K, S, S) anomaly maps, K samples.
SampleFn = Callable[[torch.Tensor, Sequence[int]], torch.Tensor]
ROW_NAMES = ("rd", "rd_ensemble", "rd_mc_dropout", "rd_tta")


def rd_config(ctx: RunContext) -> RDConfig:
    """Width follows the preset's base network: 8 at the quick preset's 32 px, 32 at 128."""
    p = ctx.preset
    width = max(8, min(32, p.base_config.channels[0]))
    return RDConfig(image_size=p.image_size, width=width, dropout=p.dropout)


def rd_options(ctx: RunContext, seed: int) -> RDTrainOptions:
    p = ctx.preset
    return RDTrainOptions(
        epochs=p.epochs,
        batch_size=p.batch_size,
        lr=1e-3,  # no variance head to collapse (see preset.lr); cosine loss trains fast
        patience=p.patience,
        time_budget_s=p.budget_s,
        seed=seed,
        device=str(ctx.device),
    )


def _train(ctx: RunContext, config: RDConfig) -> RDModels:
    """The teacher, then the students on it (members differ by their seed)."""
    return train_rd(
        config, ctx.data.train.images, ctx.data.stopping.images,
        lambda seed: rd_options(ctx, seed), ctx.seed, ctx.preset.ensemble_members, ctx.log,
    )  # fmt: skip


@torch.inference_mode()
def rd_score_cases(
    sample_fn: SampleFn,
    cases: Sequence[EvalCase],
    size: int,
    device: torch.device,
    batch: int,
    top_fraction: float,
) -> tuple[ScoredSlices, float]:
    """Every slice's score and uncertainty; returns the slices and seconds per slice."""
    parts, seconds, n = [], 0.0, 0
    for case in cases:
        images, masks = case.at_size(size)
        keys = [slice_key(case.case_id, k) for k in case.slice_index]
        scores, uncs = [], []
        for start in range(0, len(images), batch):
            t0 = time.perf_counter()
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))
            x = x.to(device).unsqueeze(1)
            mask = torch.from_numpy(masks[start : start + batch]).to(device)
            samples = sample_fn(x, keys[start : start + batch])
            mean, var = summarise_samples(samples)
            score = image_scores(mean, mask, top_fraction)
            m = mask.float()
            unc = (var * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2)).clamp_min(1.0)
            scores.append(score.cpu().numpy().astype(np.float64))
            uncs.append(unc.cpu().numpy().astype(np.float64))
            seconds += time.perf_counter() - t0
            if samples.shape[1] == 1:  # one sample: no uncertainty at all (not zero)
                uncs[-1] = np.full(len(x), np.nan)
        n += len(images)
        unc = np.concatenate(uncs) if uncs else np.zeros(0)
        values = {
            "recon_error": np.concatenate(scores) if scores else np.zeros(0),
            "unc_total": unc,
            "unc_epistemic": unc,
        }
        # brain_variance, pixel scores: NaN. RD's map is no reconstruction error, so the
        # report's reconstruction skill (error / flat-image error) does not apply to it.
        parts.append(ScoredSlices.for_case(case.case_id, case.slice_index, case.labels, values))
    return ScoredSlices.concat(parts), seconds / max(n, 1)


def _row(
    ctx: RunContext, name: str, fn: SampleFn, config: RDConfig, meta: dict[str, Any]
) -> RowRecord:
    """Validation -> thresholds (alpha 1: the score is the map's top pixels); test -> row."""
    dev, batch, size = ctx.device, ctx.preset.infer_batch, config.image_size
    val, _ = rd_score_cases(fn, ctx.data.val, size, dev, batch, config.top_fraction)
    op = fit_operating_point(val, alpha=1.0)
    test, per_slice = rd_score_cases(fn, ctx.data.test, size, dev, batch, config.top_fraction)
    speed = {"s_per_slice": per_slice, "s_per_volume": per_slice * ctx.data.mean_brain_slices}
    ctx.log(f"  {name}: scored {len(test)} test slices ({per_slice * 1000:.1f} ms/slice)")
    return RowRecord(name, test, op, meta | {"speed": speed, "image_size": size}, val)


def _records(ctx: RunContext, models: RDModels) -> list[dict[str, Any]]:
    """Each network's training record (teacher first); a cap that bit goes in the notes."""
    names = ["RD teacher", *[f"RD student {i + 1}" for i in range(len(models.students))]]
    results = (models.teacher_training, *models.student_trainings)
    return [
        training_record(ctx, name, r.epochs_run, r.steps, r.seconds, r.stopped,
                        best_val_loss=r.meta()["best_val_loss"])
        for name, r in zip(names, results, strict=True)
    ]  # fmt: skip


def _training(teacher: dict[str, Any], students: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Teacher plus the students a row uses; seconds are the sum (what the row cost)."""
    both = (teacher, *students)
    return {
        "epochs_run": "/".join(str(r["epochs_run"]) for r in both),
        "steps": sum(r["steps"] for r in both),
        "seconds": round(sum(r["seconds"] for r in both), 1),
        "device": teacher["device"],
        "stopped": "/".join(r["stopped"] for r in both),
        "teacher": teacher,
        "students": list(students),
    }


def _samplers(ctx: RunContext, models: RDModels, config: RDConfig) -> dict[str, SampleFn]:
    dev, p = ctx.device, ctx.preset
    teacher = models.teacher.to(dev)
    students = [s.to(dev) for s in models.students]
    first = students[0]
    views = tta_views(p.tta_augmentations, config.image_size)

    def mc(x: torch.Tensor, keys: Sequence[int]) -> torch.Tensor:
        # Masks depend on the slices' keys only: the same for any batching or order.
        seed = int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])
        return mc_dropout_sample_maps(teacher, first, x, p.samples, seed)

    return {
        "rd": lambda x, keys: single_maps(teacher, first, x),
        "rd_ensemble": lambda x, keys: ensemble_sample_maps(teacher, students, x),
        "rd_mc_dropout": mc,
        "rd_tta": lambda x, keys: tta_sample_maps(teacher, first, x, views),
    }


def rd_rows(ctx: RunContext) -> list[RowRecord]:
    """The four RD rows (see the module docstring)."""
    config = rd_config(ctx)
    models = _train(ctx, config)
    p = ctx.preset
    teacher, *students = _records(ctx, models)
    one, every = _training(teacher, students[:1]), _training(teacher, students)
    base = {
        "config": asdict(config),
        "teacher_pretraining": "denoising-inpainting autoencoder on the normal training "
        "slices (noise sigma 0.1, one S/4 hole), then frozen",
        "score": f"mean of the top {config.top_fraction:.0%} brain pixels of the map",
    }
    n_members = len(models.students)
    described = {
        "rd": ("one student, one pass (no uncertainty)", one, 1),
        "rd_ensemble": (f"{n_members} students (different seeds)", every, n_members),
        "rd_mc_dropout": (f"student 1, {p.samples} bottleneck dropout masks", one, 1),
        "rd_tta": (f"student 1, {p.tta_augmentations} test-time views", one, 1),
    }
    rows = []
    for name, fn in _samplers(ctx, models, config).items():
        inference, training, students = described[name]
        meta = base | {
            "inference": inference,
            "training": training,
            "parameters_m": parameters_m(models.teacher, *models.students[:students]),
        }
        rows.append(_row(ctx, name, fn, config, meta))
    for m in (models.teacher, *models.students):
        m.cpu()
    return rows


GROUPS: dict[str, RowsFn] = {"reverse_distillation": rd_rows}
