"""Findings: runs of flagged slices measured in scanner mm, on a volume built in code."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bvae_viewer.analysis.findings import find_findings, runs_of
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.data.preprocess import resample_labels
from bvae_viewer.pipeline.case import load_case
from tests.volumes import brain_phantom, write_nifti

OFFSET = np.array([-48.0, -60.0, -20.0])  # scanner mm of voxel (0, 0, 0)
LESION_MM = np.array([-18.0, 4.0, 6.0])  # in the patient's left hemisphere
LESION_RADIUS = 9.0


def test_runs_bridge_one_missing_slice_and_split_at_two() -> None:
    assert runs_of([5, 6, 8, 9, 12, 30]) == [[5, 6, 8, 9], [12], [30]]
    assert runs_of([5, 6, 8], max_gap=0) == [[5, 6], [8]]
    assert runs_of([]) == []


@pytest.fixture
def lesion_case(tmp_path):
    image, _ = brain_phantom(shape=(96, 120, 64), spacing=(1.0, 1.0, 1.0), seed=3)
    affine = np.eye(4)
    affine[:3, 3] = OFFSET
    grids = np.meshgrid(*(np.arange(n) for n in image.shape), indexing="ij")
    mm = [g + o for g, o in zip(grids, OFFSET, strict=True)]
    lesion = sum((m - c) ** 2 for m, c in zip(mm, LESION_MM, strict=True)) < LESION_RADIUS**2
    image[lesion] = 1500.0
    case = load_case(write_nifti(tmp_path / "case.nii.gz", image, affine), preprocess="never")
    labels = resample_labels(lesion.astype(np.uint8), case.stack.grid)
    return case, labels


def _maps(case, labels) -> dict[int, MapSet]:
    maps = {}
    for p in range(len(case.stack)):
        empty = MapSet.empty(case.stack.images[p], case.stack.masks[p])
        maps[p] = replace(empty, pixel_score=labels[p].astype(np.float32) * 10.0)
    return maps


def test_a_lesion_is_one_finding_on_the_left_with_its_size_in_mm(lesion_case) -> None:
    case, labels = lesion_case
    flagged = [p for p in range(len(case.stack)) if labels[p].sum() > 20]
    scores = {p: float(labels[p].sum()) for p in flagged}
    voxel_ml = case.stack.pixel_mm**2 * case.stack.slice_mm / 1000
    findings = find_findings(flagged, scores, _maps(case, labels), case.geometry, 1.0, voxel_ml)

    assert len(findings) == 1
    f = findings[0]
    assert f.number == 1 and f.side == "left"
    assert f.flagged == tuple(flagged)
    assert f.peak_score == max(scores.values())
    # The input's own slice numbers: voxel k of the lesion's ends (z = 6 -+ 9 mm).
    top, bottom = (LESION_MM[2] + d - OFFSET[2] for d in (-LESION_RADIUS, LESION_RADIUS))
    assert abs(f.input_slices[0] - top) <= 3 and abs(f.input_slices[1] - bottom) <= 3
    # About the sphere's diameter along each axis (the median filter trims the rim slices).
    assert np.allclose(f.extent_mm, 2 * LESION_RADIUS, atol=5.0), f.extent_mm
    assert np.allclose(f.centre_mm, LESION_MM, atol=3.0), f.centre_mm
    assert 2.0 < f.region_ml < 4.0  # a 9 mm sphere is 3.05 ml
    assert "left" in f.describe() and "mm" in f.describe()


def test_findings_are_numbered_by_peak_score(lesion_case) -> None:
    case, labels = lesion_case
    maps = _maps(case, labels)
    flagged = [10, 11, 12, 40, 41]
    scores = {10: 2.0, 11: 3.0, 12: 2.5, 40: 9.0, 41: 1.0}
    found = find_findings(flagged, scores, maps, case.geometry, 1.0, 0.001)
    assert [f.peak_position for f in found] == [40, 11]
    assert [f.number for f in found] == [1, 2]
    assert found[1].positions == (10, 11, 12)
    assert found[1].side == ""  # no pixel of those slices above the level: no region


def test_a_speck_far_from_the_lesion_does_not_stretch_it(lesion_case) -> None:
    case, labels = lesion_case
    flagged = [p for p in range(len(case.stack)) if labels[p].sum() > 20]
    maps = _maps(case, labels)
    speck = flagged[len(flagged) // 2]
    brain_rows, brain_cols = np.nonzero(case.stack.masks[speck])
    r, c = int(brain_rows.mean()), int(brain_cols.max()) - 10  # the other hemisphere's rim
    score = maps[speck].pixel_score.copy()
    score[r - 4:r + 4, c - 4:c + 4] = 10.0
    maps[speck] = replace(maps[speck], pixel_score=score)
    f = find_findings(flagged, {p: 1.0 for p in flagged}, maps, case.geometry, 1.0, 0.001)[0]
    assert f.side == "left"
    assert np.allclose(f.extent_mm, 2 * LESION_RADIUS, atol=5.0), f.extent_mm
