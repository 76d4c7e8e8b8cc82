"""The MVTec AD loader on a tiny category of PNGs written here."""

import numpy as np
import pytest

from bvae_viewer.data.brats import DatasetError
from bvae_viewer.data.mvtec import MVTecError, is_mvtec_category, load_mvtec_category
from tests.mvtec_fixture import write_mvtec_category


@pytest.fixture
def category(tmp_path):
    return write_mvtec_category(tmp_path / "widget")


def test_loads_grayscale_resized_images_labels_and_masks(category):
    assert is_mvtec_category(category)
    data = load_mvtec_category(category, size=32)
    assert data.name == "widget" and data.size == 32
    assert data.train.images.shape == (12, 32, 32) and data.train.images.dtype == np.float32
    assert not data.train.labels.any() and set(data.train.defects) == {"good"}
    test = data.test
    assert len(test) == 8
    assert list(test.defects) == ["good"] * 4 + ["scratch"] * 4  # defect, then file name
    np.testing.assert_array_equal(test.labels, test.defects != "good")
    assert test.names[4] == "scratch/000" and len(set(test.names)) == 8
    assert test.images.min() >= 0.0 and test.images.max() <= 1.0
    # Masks: none on good images; on defects, where the scratch is, and brighter there.
    assert not test.masks[:4].any() and all(m.any() for m in test.masks[4:])
    scratch = test.images[4][test.masks[4]].mean()
    assert scratch > test.images[4][~test.masks[4]].mean() + 0.1


def test_a_wrong_layout_is_one_clear_sentence(tmp_path, category):
    with pytest.raises(MVTecError, match="does not exist"):
        load_mvtec_category(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    assert not is_mvtec_category(tmp_path / "flat")
    with pytest.raises(MVTecError, match="no train/good folder"):
        load_mvtec_category(tmp_path / "flat")
    (category / "ground_truth" / "scratch" / "002_mask.png").unlink()
    with pytest.raises(MVTecError, match=r"002_mask.png is missing"):
        load_mvtec_category(category)
    # A DatasetError: the command line turns it into exit code 2 and one line.
    assert issubclass(MVTecError, DatasetError)


def test_unreadable_images_and_one_class_tests_are_refused(tmp_path):
    root = write_mvtec_category(tmp_path / "a", n_defect=0)
    with pytest.raises(MVTecError, match="both good and defective"):
        load_mvtec_category(root)
    root = write_mvtec_category(tmp_path / "b")
    (root / "train" / "good" / "000.png").write_bytes(b"not a png")
    with pytest.raises(MVTecError, match="Cannot read the image"):
        load_mvtec_category(root)
