"""A BraTS2020-layout folder, as the challenge ships it, is found and loaded by data.brats.

MICCAI_BraTS2020_TrainingData/BraTS20_Training_NNN/ holds five uncompressed NIfTI files per
case (flair, t1, t1ce, t2, seg) stored LPS like the originals, plus two CSV files at the top.
Case 355 names its segmentation W39_1998.09.19_Segm.nii. One case has the real 240x240x155
grid.
"""

import numpy as np
import pytest

from bvae_viewer.data.brats import find_cases, load_case, split_cases
from tests.volumes import brain_phantom, write_nifti

ROOT = "MICCAI_BraTS2020_TrainingData"
MODALITIES = ("flair", "t1", "t1ce", "t2")
ODD_CASE = "BraTS20_Training_355"


def _lps_affine(shape):
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine[:3, 3] = [0.0, shape[1] - 1.0, 0.0]
    return affine


def write_brats2020(parent, ids=(1, 2, 3, 4, 5, 355), full_size=(), healthy=()):
    """The folder the challenge ships; returns its path. ``full_size`` cases are 240x240x155."""
    root = parent / ROOT
    rows = ["Grade,BraTS_2020_subject_ID"]
    for i in ids:
        case = f"BraTS20_Training_{i:03d}"
        shape = (240, 240, 155) if i in full_size else (64, 72, 40)
        image, seg = brain_phantom(shape=shape, tumour=i not in healthy, seed=i)
        affine = _lps_affine(shape)
        for k, modality in enumerate(MODALITIES):
            # The other contrasts differ only in scale here: the reader must pick t1ce.
            data = image if modality == "t1ce" else image * (0.5 + 0.1 * k)
            write_nifti(root / case / f"{case}_{modality}.nii", data.astype(np.int16), affine)
        seg_name = "W39_1998.09.19_Segm.nii" if case == ODD_CASE else f"{case}_seg.nii"
        write_nifti(root / case / seg_name, seg, affine)
        rows.append(f"HGG,{case}")
    (root / "name_mapping.csv").write_text("\n".join(rows) + "\n")
    (root / "survival_info.csv").write_text("Brats20ID,Age,Survival_days,Extent_of_Resection\n")
    return root


@pytest.fixture(scope="module")
def brats2020(tmp_path_factory):
    return write_brats2020(tmp_path_factory.mktemp("brats"), full_size=(1,), healthy=(4,))


def test_cases_are_found_by_t1ce_with_their_segmentations(brats2020):
    # The parent of the challenge folder works too (cases two levels down).
    cases = find_cases(brats2020.parent)
    ids = [c.case_id for c in cases]
    assert ids == [f"BraTS20_Training_{i:03d}" for i in (1, 2, 3, 4, 5, 355)]
    for case in cases:
        assert case.image.name == f"{case.case_id}_t1ce.nii"
        assert case.seg is not None and case.seg.parent == case.image.parent
    odd = next(c for c in cases if c.case_id == ODD_CASE)
    assert odd.seg.name == "W39_1998.09.19_Segm.nii"
    assert find_cases(brats2020) == cases


def test_a_full_size_case_loads_as_155_slices_with_labels_from_its_seg(brats2020):
    case = load_case(find_cases(brats2020)[0], with_seg_grid=True)
    assert case.stack.images.shape == (155, 128, 128)
    assert case.stack.grid.original_shape == (240, 240)
    assert case.stack.images.min() >= 0.0 and case.stack.images.max() <= 1.0
    assert case.labels.shape == (155,)
    assert case.labels.any() and not case.labels.all()
    # Tumour slices lie inside the brain, and the seg resampled to the grid agrees with them.
    assert case.stack.has_brain[case.labels].all()
    on_grid = np.flatnonzero(case.seg_grid.reshape(155, -1).max(axis=1) > 0)
    assert set(on_grid) <= set(np.flatnonzero(case.labels))


def test_the_odd_segmentation_name_and_a_tumour_free_seg_load(brats2020):
    cases = {c.case_id: c for c in find_cases(brats2020)}
    odd = load_case(cases[ODD_CASE])
    assert odd.labels.any()
    healthy = load_case(cases["BraTS20_Training_004"])
    assert not healthy.labels.any() and healthy.stack.has_brain.any()


def test_split_is_by_patient_disjoint_and_reproducible(brats2020):
    cases = find_cases(brats2020)
    split = split_cases(cases, val_fraction=0.2, test_fraction=0.3, seed=0)
    parts = [{c.case_id for c in part} for part in (split.train, split.val, split.test)]
    assert all(parts)
    assert set().union(*parts) == {c.case_id for c in cases}
    assert sum(len(p) for p in parts) == len(cases)  # no case in two parts
    assert split == split_cases(cases[::-1], val_fraction=0.2, test_fraction=0.3, seed=0)
    other = split_cases(cases, val_fraction=0.2, test_fraction=0.3, seed=1)
    assert other != split  # the seed changes who is where
