import numpy as np
import pytest

from bvae_viewer.data.brats import (
    DatasetError,
    find_cases,
    load_case,
    normal_slices,
    split_cases,
)
from tests.volumes import write_brats_case


@pytest.fixture
def brats2020(tmp_path):
    """A tiny MICCAI_BraTS2020_TrainingData folder: 5 tumour cases and one without seg."""
    root = tmp_path / "MICCAI_BraTS2020_TrainingData"
    for i in range(1, 6):
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=True, seed=i)
    write_brats_case(root, "BraTS20_Training_006", tumour=False, seed=6)
    (root / "BraTS20_Training_006" / "BraTS20_Training_006_seg.nii.gz").unlink()
    return tmp_path


def test_finds_cases_one_level_down_with_their_files(brats2020):
    cases = find_cases(brats2020)
    assert [c.case_id for c in cases] == [f"BraTS20_Training_{i:03d}" for i in range(1, 7)]
    assert cases[0].image.name == "BraTS20_Training_001_t1ce.nii.gz"
    assert cases[0].seg.name == "BraTS20_Training_001_seg.nii.gz"
    assert cases[-1].seg is None


def test_split_is_by_patient_and_reproducible(brats2020):
    cases = find_cases(brats2020)
    split = split_cases(cases, seed=3)
    ids = [c.case_id for part in (split.train, split.val, split.test) for c in part]
    assert sorted(ids) == sorted(c.case_id for c in cases)  # every case once
    assert len(set(ids)) == len(ids)
    assert split == split_cases(list(reversed(cases)), seed=3)
    assert split.val and split.test


def test_case_labels_follow_the_segmentation(brats2020):
    cases = find_cases(brats2020)
    case = load_case(cases[0], with_seg_grid=True)
    assert case.labels.any() and not case.labels.all()
    assert case.seg_grid.shape == case.stack.images.shape
    # The reader flips the LPS-stored files to RAS: the tumour must still be where its seg is.
    tumour_slices = np.flatnonzero(case.labels)
    grid_slices = np.flatnonzero(case.seg_grid.reshape(len(case.labels), -1).max(axis=1) > 0)
    assert set(grid_slices) <= set(tumour_slices)
    healthy = load_case(cases[-1])
    assert not healthy.labels.any()


def test_normal_slices_exclude_tumour_and_empty_slices(brats2020):
    loaded = [load_case(c) for c in find_cases(brats2020)[:2]]
    normal = normal_slices(loaded)
    expected = sum(int((c.stack.has_brain & ~c.labels).sum()) for c in loaded)
    assert len(normal.images) == expected == len(normal.case_ids)
    assert (normal.masks.reshape(expected, -1).mean(axis=1) > 0).all()


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        find_cases(tmp_path / "nope")
    with pytest.raises(DatasetError, match="No BraTS cases"):
        find_cases(tmp_path)
