"""The evaluation's data: a patient-level split of a BraTS-layout folder, loaded once.

Slices come from the app's preprocessing at 128 px; networks trained at a smaller size
(the quick preset) see them average-pooled, so every row scores the very same slices.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from bvae_viewer.analysis.evaluation.fingerprint import is_generated
from bvae_viewer.data.brats import (
    CaseSplit,
    DatasetError,
    LabelledCase,
    TrainingSlices,
    find_cases,
    load_case,
    normal_slices,
    split_cases,
)
from bvae_viewer.data.preprocess import SliceStack

MIN_CASES = 5  # train, validation and test each need a case, and training needs a few
BRATS_SHAPE = (240, 240, 155)
BRATS_NAME = re.compile(r"^BraTS(20|2021)?_", re.IGNORECASE)
MIN_POOLED_PIXELS = 4  # a slice must keep some brain at the smallest size in use


class DataPlan(Protocol):
    """What the data takes from an evaluation preset (nn.evaluation.preset.EvalPreset)."""

    image_size: int
    val_fraction: float
    test_fraction: float
    max_cases: tuple[int, int, int]
    max_slices_per_case: int
    max_early_stopping_slices: int
    speed_volumes: int


def pool(images: np.ndarray, masks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 128, 128) slices and masks average-pooled to (N, size, size).

    A pooled pixel is brain when most of its block was; outside the brain the image is 0,
    as after preprocessing (the loss treats background differently).
    """
    n, side = images.shape[0], images.shape[-1]
    if size == side:
        return images, masks
    f = side // size
    if side % size:
        raise ValueError(f"{side} px slices cannot be pooled to {size} px.")
    img = images.reshape(n, size, f, size, f).mean(axis=(2, 4), dtype=np.float32)
    msk = masks.reshape(n, size, f, size, f).mean(axis=(2, 4), dtype=np.float32) > 0.5
    return (img * msk).astype(np.float32), msk


def pool_stack(stack: SliceStack, size: int) -> SliceStack:
    """A whole volume's stack at another size (for timing the app's engine)."""
    if stack.images.shape[-1] == size:
        return stack
    images, masks = pool(stack.images, stack.masks, size)
    fraction = masks.reshape(len(masks), -1).mean(axis=1).astype(np.float32)
    f = stack.images.shape[-1] / size
    return replace(
        stack, images=images, masks=masks, brain_fraction=fraction, pixel_mm=stack.pixel_mm * f
    )


@dataclass(frozen=True)
class EvalCase:
    """The scored slices of one validation or test case, at 128 px."""

    case_id: str
    images: np.ndarray  # (n, 128, 128) float32
    masks: np.ndarray  # (n, 128, 128) bool
    labels: np.ndarray  # (n,) bool
    slice_index: np.ndarray  # (n,) int
    n_brain_slices: int  # brain slices in the whole volume (for seconds per volume)

    def at_size(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        return pool(self.images, self.masks, size)


def _usable(stack: SliceStack, size: int) -> np.ndarray:
    """Brain slices that still hold brain after pooling to the preset's size: enough pixels,
    and enough of the slice for the app's engine to analyse it there."""
    pooled = pool_stack(stack, size)
    pixels = pooled.masks.reshape(len(pooled), -1).sum(axis=1)
    return stack.has_brain & pooled.has_brain & (pixels >= MIN_POOLED_PIXELS)


def eval_case(case: LabelledCase, size: int, max_slices: int) -> EvalCase:
    """Up to max_slices brain slices, evenly spaced through the volume."""
    usable = np.flatnonzero(_usable(case.stack, size))
    if len(usable) > max_slices:
        usable = usable[np.unique(np.linspace(0, len(usable) - 1, max_slices).round().astype(int))]
    s = case.stack
    return EvalCase(
        case.case_id,
        s.images[usable],
        s.masks[usable],
        case.labels[usable],
        s.slice_index[usable],
        int(s.has_brain.sum()),
    )


def _training_slices(cases: list[LabelledCase], size: int, cap: int | None) -> TrainingSlices:
    normal = normal_slices(cases)
    images, masks = pool(normal.images, normal.masks, size)
    keep = masks.reshape(len(masks), -1).sum(axis=1) >= MIN_POOLED_PIXELS
    idx = np.flatnonzero(keep)
    if cap is not None and len(idx) > cap:
        idx = idx[np.linspace(0, len(idx) - 1, cap).round().astype(int)]
    return TrainingSlices(images[idx], masks[idx], normal.case_ids[idx])


@dataclass
class EvalData:
    """Everything the rows need, loaded once."""

    root: Path
    split: CaseSplit  # the cases used (after the preset's caps)
    train: TrainingSlices  # normal slices of training cases, at the preset's size
    stopping: TrainingSlices  # normal slices of validation cases (early stopping loss)
    val: list[EvalCase]
    test: list[EvalCase]
    speed: list[SliceStack]  # whole test volumes (128 px) for timing the engine
    provenance: dict[str, str]

    @property
    def mean_brain_slices(self) -> float:
        return float(np.mean([c.n_brain_slices for c in self.test])) if self.test else 0.0


def _progress(label: str, i: int, n: int) -> None:
    end = "\n" if i == n else ""
    print(f"\r  loading {label} cases: {i}/{n}", end=end, file=sys.stderr, flush=True)


def _load_all(cases, label: str) -> list[LabelledCase]:
    out = []
    for i, case in enumerate(cases, 1):
        out.append(load_case(case))
        _progress(label, i, len(cases))
    return out


def provenance(root: Path, loaded: list[LabelledCase]) -> dict[str, str]:
    """What kind of data this is, and the plain sentence the report opens with."""
    if is_generated(Path(root)):
        return {
            "kind": "synthetic",
            "statement": "The data is synthetic (bvae_viewer.data.synth, built from the "
            "MNI152 template): synthetic data is not BraTS, so these numbers measure the "
            "methods on a stand-in and do not reproduce the paper's.",
        }
    shapes = {(*c.stack.grid.original_shape[::-1], len(c.stack)) for c in loaded}
    names = all(BRATS_NAME.match(c.case_id) for c in loaded)
    if shapes == {BRATS_SHAPE} and names:
        return {
            "kind": "brats",
            "statement": "The data has the BraTS layout, case names and image size "
            "(240x240x155); the paper's numbers are on BraTS2020 T1ce.",
        }
    shape = "x".join(str(v) for v in sorted(shapes)[0])
    return {
        "kind": "other",
        "statement": f"The data is in the BraTS folder layout but is not BraTS (images of "
        f"{shape} voxels, not 240x240x155): it is synthetic or other data, and these numbers "
        "do not reproduce the paper's.",
    }


def _capped(split: CaseSplit, caps: tuple[int, int, int]) -> CaseSplit:
    return CaseSplit(split.train[: caps[0]], split.val[: caps[1]], split.test[: caps[2]])


def load_eval_data(root: Path, preset: DataPlan, seed: int) -> EvalData:
    """Split by patient, cap each part, load and reduce to what the rows need."""
    cases = find_cases(root)  # DatasetError when the folder is missing or holds no cases
    if len(cases) < MIN_CASES:
        raise DatasetError(
            f"The evaluation needs at least {MIN_CASES} cases (train, validation and test are "
            f"split by patient); {root} has {len(cases)}."
        )
    split = _capped(
        split_cases(cases, preset.val_fraction, preset.test_fraction, seed=seed), preset.max_cases
    )
    size = preset.image_size
    train_cases = _load_all(split.train, "training")
    train = _training_slices(train_cases, size, None)
    kind = provenance(root, train_cases)
    del train_cases
    val_cases = _load_all(split.val, "validation")
    try:
        stopping = _training_slices(val_cases, size, preset.max_early_stopping_slices)
    except DatasetError:
        # Validation cases may all be tumour-bearing; early stopping then uses training slices.
        stopping = TrainingSlices(train.images[::10], train.masks[::10], train.case_ids[::10])
    val = [eval_case(c, size, preset.max_slices_per_case) for c in val_cases]
    del val_cases
    test, speed = [], []
    for i, case in enumerate(split.test, 1):
        loaded = load_case(case)
        test.append(eval_case(loaded, size, preset.max_slices_per_case))
        if len(speed) < preset.speed_volumes:
            speed.append(loaded.stack)
        _progress("test", i, len(split.test))
    if not any(len(c.labels) for c in test):
        raise DatasetError(f"The test cases of {root} have no brain slices to score.")
    return EvalData(Path(root), split, train, stopping, val, test, speed, kind)
