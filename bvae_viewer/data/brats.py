"""BraTS 2020/2021 folder layout: CASE/CASE_t1ce.nii.gz and CASE/CASE_seg.nii.gz.

Synthetic data is written in the same layout, so one reader serves both. Splits are by
patient (case folder), never by slice: slices of one brain are far from independent.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvae_viewer.data.frontend import prepare_input
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume, resample_labels, slice_labels
from bvae_viewer.io import load_volume

IMAGE_SUFFIXES = ("_t1ce.nii.gz", "_t1ce.nii")
SEG_SUFFIXES = ("_seg.nii.gz", "_seg.nii")


class DatasetError(Exception):
    """A dataset folder that cannot be used; the message says why."""


@dataclass(frozen=True)
class BratsCase:
    case_id: str
    image: Path
    seg: Path | None


@dataclass(frozen=True)
class CaseSplit:
    train: tuple[BratsCase, ...]
    val: tuple[BratsCase, ...]
    test: tuple[BratsCase, ...]


@dataclass(frozen=True)
class LabelledCase:
    """A case as model input plus its per-slice ground truth."""

    case_id: str
    stack: SliceStack
    labels: np.ndarray  # (Z,) bool, any tumour voxel in the original slice
    seg_grid: np.ndarray | None  # (Z, S, S) int16 labels on the model grid


def _first_existing(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _find_seg(folder: Path, stem: str) -> Path | None:
    found = _first_existing(folder, stem, SEG_SUFFIXES)
    if found is None:
        # BraTS2020 case 355 names its segmentation differently.
        others = sorted(p for p in folder.iterdir() if "seg" in p.name.lower() and ".nii" in p.name)
        found = others[0] if others else None
    return found


def find_cases(root: Path) -> list[BratsCase]:
    """Every case folder under root (searched two levels deep) that has a T1ce image."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"The dataset folder {root} does not exist.")
    cases: list[BratsCase] = []
    for folder in sorted(
        {p.parent for p in root.glob("*/*_t1ce.nii*")}
        | {p.parent for p in root.glob("*/*/*_t1ce.nii*")}
    ):
        image = _first_existing(folder, folder.name, IMAGE_SUFFIXES)
        if image is None:
            continue
        cases.append(BratsCase(folder.name, image, _find_seg(folder, folder.name)))
    if not cases:
        raise DatasetError(
            f"No BraTS cases found in {root}: expected CASE/CASE_t1ce.nii.gz folders."
        )
    return cases


def split_cases(
    cases: list[BratsCase], val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> CaseSplit:
    """Shuffle cases (patients) reproducibly and cut into train / val / test."""
    order = sorted(cases, key=lambda c: c.case_id)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(1, round(n * test_fraction)) if n >= 3 else 0
    n_val = max(1, round(n * val_fraction)) if n >= 3 else 0
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return CaseSplit(tuple(train), tuple(val), tuple(test))


def load_case(case: BratsCase, with_seg_grid: bool = False) -> LabelledCase:
    """Load, preprocess and label one case (cases without a seg count as tumour-free)."""
    volume = load_volume(case.image)
    stack = preprocess_volume(prepare_input(volume).volume)  # issue 17: skips stripped 1 mm
    if case.seg is None:
        return LabelledCase(case.case_id, stack, np.zeros(len(stack), dtype=bool), None)
    seg = np.rint(load_volume(case.seg).data).astype(np.int16)
    if seg.shape != volume.data.shape:
        raise DatasetError(
            f"The segmentation of case {case.case_id} does not match its image grid "
            f"({seg.shape} vs {volume.data.shape})."
        )
    grid = resample_labels(seg, stack.grid) if with_seg_grid else None
    return LabelledCase(case.case_id, stack, slice_labels(seg), grid)


@dataclass(frozen=True)
class TrainingSlices:
    """Normal slices with brain, ready for training."""

    images: np.ndarray  # (N, S, S) float32
    masks: np.ndarray  # (N, S, S) bool
    case_ids: np.ndarray  # (N,) str


def normal_slices(cases: list[LabelledCase]) -> TrainingSlices:
    """Slices with brain and without any tumour voxel (the model learns only normal anatomy)."""
    images, masks, ids = [], [], []
    for case in cases:
        keep = case.stack.has_brain & ~case.labels
        images.append(case.stack.images[keep])
        masks.append(case.stack.masks[keep])
        ids.extend([case.case_id] * int(keep.sum()))
    if not images:
        raise DatasetError("No normal slices with brain were found for training.")
    return TrainingSlices(np.concatenate(images), np.concatenate(masks), np.asarray(ids))


def synthetic_source(root: Path) -> dict[str, object] | None:
    """Generator and seed of a synthetic folder (from its manifest.json); None otherwise.

    Synthetic case IDs repeat across seeds (SYN_00000 in every set), so whether a model has
    seen a case needs the seed as well as the ID.
    """
    manifest = Path(root) / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not str(data.get("generator", "")).startswith(
        "bvae_viewer.data.synth"
    ):
        return None
    return {"generator": data["generator"], "seed": data.get("seed")}

