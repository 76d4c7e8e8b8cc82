"""Labelled slices with their graders' masks, for the Probabilistic U-Net rows.

The evaluation's shared data keeps only what the unsupervised rows need (normal training
slices, test images and slice labels); the Prob U-Net is a supervised segmenter, so its rows
load the training and test cases again, with the segmentation and the grader masks, on the
same preprocessing and the same pooling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bvae_viewer.analysis.evaluation.data import MIN_POOLED_PIXELS, pool
from bvae_viewer.data.brats import BratsCase, load_case
from bvae_viewer.data.graders import graders_on_grid, load_graders, pack_graders


@dataclass(frozen=True)
class GradedSlices:
    """Brain slices at the preset's size with the whole tumour and every grader's mask."""

    case_ids: np.ndarray  # (N,) str
    slice_index: np.ndarray  # (N,) int
    images: np.ndarray  # (N, S, S) float32
    brain: np.ndarray  # (N, S, S) bool
    tumour: np.ndarray  # (N, S, S) bool, the seg's whole tumour (labels 1, 2, 4)
    graders: np.ndarray  # (N, S, S) uint8, bit g: grader g marks tumour
    n_graders: int
    sources: dict[str, str]  # case id -> "stored" or "generated"

    def __len__(self) -> int:
        return len(self.images)

    def grader_masks(self, i: int) -> np.ndarray:
        """(n, S, S) bool masks of slice i."""
        return np.stack([(self.graders[i] >> g) & 1 for g in range(self.n_graders)]) > 0

    @property
    def source(self) -> str:
        kinds = sorted(set(self.sources.values()))
        return kinds[0] if len(kinds) == 1 else "mixed"


def _pooled(masks: np.ndarray, size: int) -> np.ndarray:
    """(N, 128, 128) binary -> (N, size, size): a pixel is marked when most of its block is."""
    return pool(masks.astype(np.float32), masks, size)[1]


def load_graded(
    cases: Sequence[BratsCase],
    size: int,
    only: Mapping[str, np.ndarray] | None = None,
) -> GradedSlices:
    """The brain slices of ``cases`` (those in ``only[case_id]`` when given, by slice index)."""
    parts: dict[str, list] = {k: [] for k in ("ids", "index", "img", "brain", "tum", "bits")}
    sources: dict[str, str] = {}
    n_graders = 0
    for case in cases:
        if case.seg is None:
            continue  # nothing to learn or measure a segmentation on
        labelled = load_case(case, with_seg_grid=True)
        stack = labelled.stack
        graders = load_graders(case)  # reads the seg again only to generate them
        sources[case.case_id] = graders.source
        n_graders = graders.n
        images, brain = pool(stack.images, stack.masks, size)
        keep = stack.has_brain & (brain.reshape(len(brain), -1).sum(axis=1) >= MIN_POOLED_PIXELS)
        if only is not None:
            keep &= np.isin(stack.slice_index, only.get(case.case_id, []))
        idx = np.flatnonzero(keep)
        on_grid = graders_on_grid(graders, stack.grid)[:, idx]
        parts["ids"].append(np.full(len(idx), case.case_id))
        parts["index"].append(stack.slice_index[idx])
        parts["img"].append(images[idx])
        parts["brain"].append(brain[idx])
        parts["tum"].append(_pooled(labelled.seg_grid[idx] > 0, size))
        parts["bits"].append(pack_graders(np.stack([_pooled(m, size) for m in on_grid])))
    if not sources:
        raise ValueError("None of the cases has a segmentation.")
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return GradedSlices(
        cat["ids"], cat["index"], cat["img"], cat["brain"], cat["tum"], cat["bits"],
        n_graders, sources,
    )  # fmt: skip
