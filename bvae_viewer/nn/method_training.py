"""`bvae-viewer train --method reverse_distillation | prob_unet`: the other methods' networks,
trained here, then calibrated, measured and saved exactly as the VAE is (nn.training_run).

- Reverse Distillation learns from normal slices: the teacher's self-supervised pretext
  pretraining, then one student with dropout at the bottleneck (MC dropout at inference).
- The Probabilistic U-Net is supervised: it learns from every brain slice of the training
  cases (tumour and tumour-free) with several graders' masks, the supervised uncertainty
  loss on (weight as in the evaluation's prob_unet_sup row).
Each network gets the whole ``--time-budget``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

from bvae_viewer.analysis.evaluation.prob_unet_data import load_graded
from bvae_viewer.analysis.methods import PROB_UNET, REVERSE_DISTILLATION
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.data.brats import DatasetError, normal_slices
from bvae_viewer.nn.device import choose_device
from bvae_viewer.nn.prob_unet import ProbUNetConfig
from bvae_viewer.nn.prob_unet_train import LR_WARMUP_STEPS, SUPERVISED_WEIGHT, train_prob_unet
from bvae_viewer.nn.rd_training import train_rd
from bvae_viewer.nn.registry import RDNetwork
from bvae_viewer.nn.reverse_distillation import RDConfig, RDTrainOptions
from bvae_viewer.nn.train import TrainOptions
from bvae_viewer.nn.training_run import (
    calibrate_and_save,
    load_cases,
    load_split,
    load_training_cases,
    run_record,
)

log = logging.getLogger(__name__)

IMAGE_SIZE = 128  # the app's preprocessing: every model takes 128 px slices


def rd_config(width: int = 16) -> RDConfig:
    """Reverse Distillation at the app's slice size; ``width`` channels at S/2."""
    return RDConfig(image_size=IMAGE_SIZE, width=width)


def prob_unet_config(width: int = 16) -> ProbUNetConfig:
    """A four-level Probabilistic U-Net (``width`` channels doubling per level) with the
    supervised uncertainty loss on."""
    return ProbUNetConfig(
        image_size=IMAGE_SIZE,
        channels=(width, 2 * width, 4 * width, 8 * width),
        uncertainty_weight=SUPERVISED_WEIGHT,
    )


def train_rd_bundle(
    data_dir: Path,
    out_dir: Path,
    config: RDConfig,
    options: TrainOptions,
    name: str,
    command: str,
    split_seed: int = 0,
) -> ModelInfo:
    """Teacher and one student on the normal training slices; calibrate, measure, save."""
    start = time.perf_counter()
    split = load_split(data_dir, split_seed)
    log.info("train %s (reverse distillation): data %s (%d/%d/%d cases), out %s, %s",
             name, data_dir, len(split.train), len(split.val), len(split.test), out_dir, options)
    train_cases, val_cases = load_training_cases(split)
    train, val = normal_slices(train_cases), normal_slices(val_cases)
    del train_cases
    device = str(choose_device(options.device))

    def rd_options(seed: int) -> RDTrainOptions:
        return RDTrainOptions(
            epochs=options.epochs, batch_size=options.batch_size, lr=options.lr,
            patience=options.patience, time_budget_s=options.time_budget_s, seed=seed,
            device=device,
        )  # fmt: skip

    models = train_rd(config, train.images, val.images, rd_options, options.seed, log=log.info)
    network = RDNetwork(config)
    network.teacher, network.student = models.teacher, models.students[0]
    training = run_record(command, data_dir, split, split_seed, start) | {
        "n_train_slices": len(train.images),
        "n_val_slices": len(val.images),
        "options": asdict(options),
        "teacher": models.teacher_training.meta(),
        "student": models.student_trainings[0].meta(),
        "teacher_pretraining": "denoising-inpainting autoencoder on the normal training "
        "slices (noise sigma 0.1, one S/4 hole), then frozen",
    }
    return calibrate_and_save(
        network, config, REVERSE_DISTILLATION, name, val_cases, split, device, out_dir,
        training, start,
    )  # fmt: skip


def train_prob_unet_bundle(
    data_dir: Path,
    out_dir: Path,
    config: ProbUNetConfig,
    options: TrainOptions,
    name: str,
    command: str,
    split_seed: int = 0,
    max_steps: int | None = None,
) -> ModelInfo:
    """Supervised on the training cases' labelled slices and grader masks (stored beside the
    seg, or generated from it); calibrate, measure, save. ``max_steps``: stop sooner (tests)."""
    start = time.perf_counter()
    split = load_split(data_dir, split_seed)
    log.info("train %s (probabilistic u-net): data %s (%d/%d/%d cases), out %s, %s",
             name, data_dir, len(split.train), len(split.val), len(split.test), out_dir, options)
    try:
        graded = load_graded(split.train, config.image_size)
    except ValueError as exc:  # no training case has a segmentation
        raise DatasetError(
            f"The Probabilistic U-Net learns from segmented slices, and no training case in "
            f"{data_dir} has a segmentation."
        ) from exc
    device = str(choose_device(options.device))
    result = train_prob_unet(
        config, graded.images, graded.graders, graded.n_graders,
        replace(options, lr_warmup_steps=LR_WARMUP_STEPS, device=device), max_steps=max_steps,
    )  # fmt: skip
    log.info("train %s: %d epochs, %d steps, stopped by %s in %.0f s", name, result.epochs_run,
             result.steps, result.stopped, result.seconds)
    tumour = graded.tumour.reshape(len(graded), -1).any(axis=1)
    training = run_record(command, data_dir, split, split_seed, start) | {
        "n_train_slices": len(graded),
        "n_train_tumour_slices": int(tumour.sum()),
        "graders": {"n": graded.n_graders, "source": graded.source},
        "options": asdict(options) | {"lr_warmup_steps": LR_WARMUP_STEPS},
        "epochs_run": result.epochs_run,
        "steps": result.steps,
        "stopped": result.stopped,
        "seconds": round(result.seconds, 1),
        "history": result.history,
    }
    val_cases = load_cases(split.val, "validation")
    return calibrate_and_save(
        result.network, config, PROB_UNET, name, val_cases, split, device, out_dir,
        training, start,
    )  # fmt: skip
