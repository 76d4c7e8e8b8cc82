"""Grader masks: several plausible annotations of one tumour, stored or generated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from bvae_viewer.data.brats import find_cases
from bvae_viewer.data.graders import graders_path, load_graders
from bvae_viewer.data.synth.graders import MAX_SHIFT_MM, grader_masks, grader_variance
from bvae_viewer.data.synth.writer import write_case
from bvae_viewer.io import load_volume
from tests.volumes import write_brats_case


def tumour(shape=(56, 56, 40)) -> np.ndarray:
    """A BraTS-labelled blob: enhancing rim, necrotic core, oedema with a lobe."""
    grids = np.meshgrid(*[np.arange(n) - n / 2 for n in shape], indexing="ij")
    r = np.sqrt(sum(g**2 for g in grids))
    lobe = np.sqrt((grids[0] - 10) ** 2 + grids[1] ** 2 + grids[2] ** 2)
    seg = np.zeros(shape, np.uint8)
    seg[(r < 17) | (lobe < 10)] = 2
    seg[r < 10] = 4
    seg[r < 6] = 1
    return seg


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_same_seed_same_masks_other_seed_other_masks():
    seg = tumour()
    a, b = grader_masks(seg, seed=3), grader_masks(seg, seed=3)
    assert a.shape == (4, *seg.shape) and a.dtype == np.uint8
    assert set(np.unique(a).tolist()) == {0, 1}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, grader_masks(seg, seed=4))


def test_variance_is_zero_exactly_where_all_graders_agree():
    seg = tumour()
    masks = grader_masks(seg, seed=1, n=5)
    variance = grader_variance(masks)
    agree = (masks == masks[0]).all(axis=0)
    assert np.all(variance[agree] == 0.0)
    assert np.all(variance[~agree] > 0.0)
    # Disagreement stays near the outline: deep inside and far outside everyone agrees.
    inside = ndimage.distance_transform_edt(seg > 0)
    outside = ndimage.distance_transform_edt(seg == 0)
    assert agree[inside > MAX_SHIFT_MM + 1].all()
    assert agree[outside > MAX_SHIFT_MM + 1].all()
    assert 0.01 < (~agree).mean() < 0.2


def test_graders_differ_plausibly():
    seg = tumour()
    whole = seg > 0
    masks = grader_masks(seg, seed=2).astype(bool)
    scores = [dice(m, whole) for m in masks]
    # Inter-rater whole-tumour Dice in BraTS is about 0.85-0.9: a few voxels at the outline.
    assert all(0.75 < s < 1.0 for s in scores) and np.mean(scores) < 0.97, scores
    pairs = [dice(masks[i], masks[j]) for i in range(4) for j in range(i + 1, 4)]
    assert all(0.7 < p < 1.0 for p in pairs) and np.mean(pairs) < 0.97, pairs
    # Nothing is added beyond the largest outline shift (a cut oedema only removes).
    outside = ndimage.distance_transform_edt(~whole)
    assert not masks[:, outside > MAX_SHIFT_MM + 1].any()


def test_empty_seg_and_2d_seg():
    assert not grader_masks(np.zeros((20, 20, 10), np.uint8), seed=0).any()
    slice_masks = grader_masks(tumour()[:, :, 20], seed=0, n=3)
    assert slice_masks.shape == (3, 56, 56) and slice_masks.any()
    with pytest.raises(ValueError):
        grader_masks(tumour(), seed=0, n=0)


def test_generated_when_absent_and_deterministic(tmp_path: Path):
    write_brats_case(tmp_path, "BraTS20_Training_001", tumour=True, seed=1)
    case = find_cases(tmp_path)[0]
    assert not graders_path(case).exists()
    first, second = load_graders(case), load_graders(case)
    assert first.source == "generated" and first.n == 4
    np.testing.assert_array_equal(first.masks, second.masks)
    seg = load_volume(case.seg).data > 0
    assert first.masks.shape == (4, *seg.shape)
    assert all(dice(m > 0, seg) > 0.6 for m in first.masks)


def test_stored_graders_are_read_in_the_segs_orientation(tmp_path: Path):
    seg = tumour()
    image = (seg > 0).astype(np.int16) * 100 + 50
    stored = np.stack([seg > 0, np.zeros_like(seg, bool), seg == 4]).astype(np.uint8)
    write_case(tmp_path, "SYN_00000", image, seg, stored)
    case = find_cases(tmp_path)[0]
    assert graders_path(case).is_file()
    loaded = load_graders(case)
    assert loaded.source == "stored" and loaded.n == 3
    ras = np.rint(load_volume(case.seg).data)  # the seg as the app reads it (RAS)
    np.testing.assert_array_equal(loaded.masks[0], ras > 0)
    assert not loaded.masks[1].any()
    np.testing.assert_array_equal(loaded.masks[2], ras == 4)


def test_segmentation_metrics_against_graders():
    from bvae_viewer.analysis.evaluation.prob_unet_report import prob_unet_section
    from bvae_viewer.analysis.evaluation.segmentation import (
        SegmentationTally,
        dice,
        generalised_energy_distance,
        iou_distance,
    )

    graders = grader_masks(tumour()[:, :, 20], seed=0).astype(bool)
    ged, diversity = generalised_energy_distance(graders, graders)
    assert ged == pytest.approx(0.0) and diversity > 0  # the graders as samples: a perfect fit
    empty = np.zeros((3, *graders.shape[1:]), bool)
    worse, none = generalised_energy_distance(empty, graders)
    assert worse > 0.5 and none == 0.0
    assert iou_distance(empty[0], empty[0]) == 0.0 and dice(empty[0], empty[0]) is None
    tally = SegmentationTally()
    votes = graders.mean(axis=0)
    tally.add(
        graders.astype(float), graders, graders[0], votes * (1 - votes), np.ones_like(votes, bool)
    )
    summary = tally.summary()
    assert summary["uncertainty_corr"] == pytest.approx(1.0)
    assert summary["dice_mean"] > 0.8 and summary["n_slices"] == 1
    lines = "\n".join(prob_unet_section({}))  # not run: the paper's number alone
    assert "not run" in lines and "0.813" in lines
