"""An MVTec AD category as the evaluation's data, so the same rows run on it.

Each image is its own "case" of one slice, with the whole image as foreground (the rows'
brain mask), so seconds per volume read as seconds per image. MVTec has no validation
split: the test images are split, stratified by label with the run's seed, into validation
(thresholds) and test (measured) halves; a tenth of train/good is held out for early
stopping. Images load at 128 px, like the BraTS slices, and are pooled to the preset's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bvae_viewer.analysis.evaluation.data import DataPlan, EvalCase, EvalData, pool
from bvae_viewer.data.brats import BratsCase, CaseSplit, TrainingSlices
from bvae_viewer.data.mvtec import MVTecSplit, load_mvtec_category

LOAD_SIZE = 128
VAL_SHARE = 0.5  # of the test images, per label
STOPPING_SHARE = 0.1  # of train/good


def _cases(split: MVTecSplit, idx: np.ndarray) -> list[EvalCase]:
    full = np.ones((1, LOAD_SIZE, LOAD_SIZE), bool)
    return [
        EvalCase(
            str(split.names[i]),
            split.images[i : i + 1],
            full,
            split.labels[i : i + 1],
            np.array([0]),
            1,
        )
        for i in idx
    ]


def _val_test(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified halves: both keep good and defective images."""
    rng = np.random.default_rng(seed)
    val, test = [], []
    for value in (False, True):
        idx = rng.permutation(np.flatnonzero(labels == value))
        cut = max(1, round(len(idx) * VAL_SHARE)) if len(idx) > 1 else 0
        val.append(idx[:cut])
        test.append(idx[cut:])
    return np.sort(np.concatenate(val)), np.sort(np.concatenate(test))


def _slices(split: MVTecSplit, idx: np.ndarray, size: int) -> TrainingSlices:
    masks = np.ones((len(idx), LOAD_SIZE, LOAD_SIZE), bool)
    images, masks = pool(split.images[idx], masks, size)
    return TrainingSlices(images, masks, split.names[idx])


def load_mvtec_eval_data(root: Path, preset: DataPlan, seed: int) -> EvalData:
    """An MVTec AD category folder -> EvalData (MVTecError for a wrong layout)."""
    category = load_mvtec_category(Path(root), LOAD_SIZE)
    train, test = category.train, category.test
    order = np.random.default_rng(seed).permutation(len(train))
    n_stop = max(1, round(len(train) * STOPPING_SHARE)) if len(train) > 1 else 0
    stop_idx, train_idx = np.sort(order[:n_stop]), np.sort(order[n_stop:])
    if n_stop == 0:  # one training image: it also serves for early stopping
        stop_idx = train_idx
    val_idx, test_idx = _val_test(test.labels, seed)
    as_cases = {
        part: tuple(BratsCase(str(names[i]), root / str(names[i]), None) for i in idx)
        for part, names, idx in (
            ("train", train.names, train_idx),
            ("val", test.names, val_idx),
            ("test", test.names, test_idx),
        )
    }
    return EvalData(
        root=Path(root),
        split=CaseSplit(as_cases["train"], as_cases["val"], as_cases["test"]),
        train=_slices(train, train_idx, preset.image_size),
        stopping=_slices(train, stop_idx, preset.image_size),
        val=_cases(test, val_idx),
        test=_cases(test, test_idx),
        speed=[],  # no volumes: the app engine's per-volume timing does not apply
        provenance={
            "kind": "mvtec",
            "statement": f"The data is the MVTec AD category '{category.name}' (grayscale, "
            f"{LOAD_SIZE} px, test images split into validation and test halves): industrial "
            "images, not MRI; each image counts as a one-slice volume.",
        },
    )
