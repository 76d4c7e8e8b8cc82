"""`bvae-viewer train`: BraTS-layout folder -> trained, calibrated, evaluated model folder.

The split, the calibration on validation cases through the app's InferenceEngine, the test
metrics and the saved folder are the same for every method (nn.method_training trains the
others); only the network and its training differ.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bvae_viewer.analysis.calibrate import ValidationCase, calibrate, rescore
from bvae_viewer.analysis.methods import BVAE, method_info
from bvae_viewer.analysis.metrics import slice_metrics
from bvae_viewer.analysis.model_info import ModelInfo, ModelInfoError
from bvae_viewer.data.brats import (
    BratsCase,
    CaseSplit,
    LabelledCase,
    find_cases,
    load_case,
    normal_slices,
    split_cases,
    synthetic_source,
)
from bvae_viewer.nn.bundle import WEIGHTS_FILE, Bundle, load_bundle, save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.train import TrainOptions, train_model
from bvae_viewer.nn.validation import validation_case

log = logging.getLogger(__name__)


def _is_rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def load_cases(cases: Sequence[BratsCase], label: str) -> list[LabelledCase]:
    """Load and preprocess cases, in order, on all cores: reading hundreds of .nii.gz
    one by one kept a GPU idle for minutes."""
    workers = max(1, min(len(cases), os.cpu_count() or 1, 16))
    out = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for i, case in enumerate(pool.map(load_case, cases), 1):
            out.append(case)
            print(f"\rloading {label} cases: {i}/{len(cases)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def evaluate_cases(engine: InferenceEngine, cases: list[LabelledCase]) -> list[ValidationCase]:
    """Every case through the engine, scored for calibration or metrics."""
    return [validation_case(engine, c) for c in cases]


def split_metrics(
    cases: list[ValidationCase], alpha: float, reduction: str = "mean", keep_slices: bool = False
) -> dict[str, Any]:
    """Slice-level metrics of a split, brain slices only.

    With ``keep_slices`` the per-slice score, uncertainty and label travel along, so the
    window can preview any thresholds on validation data without the data.
    """
    scores, unc, labels = [], [], []
    for case in cases:
        for s, label in zip(case.scores, case.labels, strict=True):
            if not s.empty:
                scores.append(rescore(s, alpha, reduction).anomaly_score)
                unc.append(s.unc_total)
                labels.append(bool(label))
    out = slice_metrics(np.array(labels), np.array(scores))
    out["n_cases"] = len(cases)
    if keep_slices:
        out["slices"] = {
            "anomaly_score": [float(f"{v:.6g}") for v in scores],
            "unc_total": [float(f"{v:.6g}") for v in unc],
            "abnormal": labels,
        }
    return out


def load_split(data_dir: Path, split_seed: int) -> CaseSplit:
    """The patient-level split of a BraTS-layout folder (DatasetError when it has no cases)."""
    return split_cases(find_cases(data_dir), seed=split_seed)


def load_training_cases(split: CaseSplit) -> tuple[list[LabelledCase], list[LabelledCase]]:
    """The training and validation cases, loaded and preprocessed."""
    return load_cases(split.train, "train"), load_cases(split.val, "validation")


def run_record(
    command: str, data_dir: Path, split: CaseSplit, split_seed: int, start: float
) -> dict[str, Any]:
    """What model.json says about any training run: how it was made, on what, how long."""
    return {
        "command": command,
        "data": str(data_dir),
        "data_source": synthetic_source(data_dir),
        "split_seed": split_seed,
        "cases": {
            "train": [c.case_id for c in split.train],
            "val": [c.case_id for c in split.val],
            "test": [c.case_id for c in split.test],
        },
        "train_wall_seconds": round(time.perf_counter() - start, 1),
        "torch": torch.__version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }


def calibrate_and_save(
    network: torch.nn.Module,
    config: Any,
    method: str,
    name: str,
    val_cases: list[LabelledCase],
    split: CaseSplit,
    device: str,
    out_dir: Path,
    training: dict[str, Any],
    start: float,
) -> ModelInfo:
    """Calibrate on the validation cases run through the InferenceEngine (analysis.calibrate,
    the same for every method), measure the test cases, save the model folder."""
    provisional = ModelInfo(name, asdict(config), WEIGHTS_FILE, "", method=method)
    # Scores are recomputed for every alpha during calibration (eq. 15 is linear in them).
    engine = InferenceEngine(Bundle(network, provisional, config), device=device, samples=5)
    val_scored = evaluate_cases(engine, val_cases)
    calibration = calibrate(val_scored)
    test_scored = evaluate_cases(engine, load_cases(split.test, "test"))
    info = ModelInfo(
        name=name,
        config=asdict(config),
        weights_file=WEIGHTS_FILE,
        sha256="",
        calibration=calibration,
        metrics={
            "validation": split_metrics(
                val_scored, calibration.alpha, calibration.reduction, keep_slices=True
            ),
            "test": split_metrics(test_scored, calibration.alpha, calibration.reduction),
        },
        training=training | {"total_wall_seconds": round(time.perf_counter() - start, 1)},
        method=method,
    )
    saved = save_bundle(network, info, out_dir)
    log.info(
        "train %s: saved %s (%s) to %s in %.0f s in all, alpha %.3g, test ROC AUC %s",
        name, saved.sha256[:12], method, out_dir, time.perf_counter() - start,
        calibration.alpha, info.metrics["test"].get("roc_auc"),
    )
    return saved


def train_bundle(
    data_dir: Path,
    out_dir: Path,
    config: ModelConfig,
    options: TrainOptions,
    name: str,
    command: str,
    resume: bool = False,
    split_seed: int = 0,
    init_from: Path | None = None,
) -> ModelInfo | None:
    """Train on normal slices, calibrate on validation cases, measure on test cases, save.

    With ``init_from`` (a model folder) training starts from its verified weights, and its
    configuration replaces ``config``.
    """
    start = time.perf_counter()
    initial = None
    if init_from is not None:
        # load_bundle verifies the sha256; a damaged or foreign model fails before any work.
        source = load_bundle(Path(init_from))
        if source.method != BVAE:
            raise ModelInfoError(
                f"--init-from needs a Bayesian VAE model; {init_from} is a "
                f"{method_info(source.method).display_name} model."
            )
        config, initial = source.config, source.network.state_dict()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = load_split(data_dir, split_seed)
    log.info(
        "train %s: config %s, data %s (%d/%d/%d cases train/val/test), out %s, resume %s, %s",
        name, config.name, data_dir, len(split.train), len(split.val), len(split.test),
        out_dir, resume, options,
    )
    train_cases, val_cases = load_training_cases(split)
    train = normal_slices(train_cases)
    val = normal_slices(val_cases)
    del train_cases
    result = train_model(
        config,
        train.images,
        val.images,
        out_dir / "checkpoints",
        options,
        resume=resume,
        train_masks=train.masks,
        val_masks=val.masks,
        initial_state=initial,
    )
    train_seconds = time.perf_counter() - start
    log.info(
        "train %s: stopped (%s) after %d epochs in %.0f s, best validation loss %.5g%s",
        name, result.stopped, result.epochs_run, train_seconds, result.best_val_loss,
        f" ({'; '.join(result.notes)})" if result.notes else "",
    )
    if not _is_rank0():
        return None
    training = run_record(command, data_dir, split, split_seed, start) | {
        "init_from": None if init_from is None else str(init_from),
        "n_train_slices": len(train.images),
        "n_val_slices": len(val.images),
        "options": asdict(options),
        "epochs_run": result.epochs_run,
        "best_val_loss": result.best_val_loss,
        "history": result.history,
        "notes": result.notes,
    }
    return calibrate_and_save(
        result.best_state, config, BVAE, name, val_cases, split, options.device, out_dir,
        training, start,
    )
