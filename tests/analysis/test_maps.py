import numpy as np
from scipy import ndimage

from bvae_viewer.analysis.maps import EPS, MapSet, reconstruction_maps, score_slice


def test_reference_equations_by_hand():
    x = np.array([[1.0, 0.0]])
    means = np.array([[[0.5, 0.0]], [[0.7, 0.2]]])  # K=2
    logvar = np.log(np.array([[[0.01, 0.04]], [[0.03, 0.04]]]))
    mask = np.array([[True, True]])
    maps = reconstruction_maps(x, means, logvar, mask)
    np.testing.assert_allclose(maps.reconstruction, [[0.6, 0.1]])
    np.testing.assert_allclose(maps.epistemic, [[0.01, 0.01]], atol=1e-7)
    np.testing.assert_allclose(maps.aleatoric, [[0.02, 0.04]], rtol=1e-6)
    np.testing.assert_allclose(maps.total, [[0.03, 0.05]], rtol=1e-6)
    np.testing.assert_allclose(maps.error, [[0.16, 0.01]], rtol=1e-6)
    np.testing.assert_allclose(maps.pixel_score, [[0.16 / (0.03 + EPS), 0.01 / (0.05 + EPS)]],
                               rtol=1e-5)
    scores = score_slice(maps, alpha=0.25, slice_index=7, brain_fraction=0.5)
    expected = 0.25 * 0.085 + 0.75 * np.mean(maps.pixel_score)
    assert abs(scores.anomaly_score - expected) < 1e-5
    assert scores.slice_index == 7 and not scores.empty


def test_scores_only_count_brain_pixels():
    x = np.zeros((4, 4), dtype=np.float32)
    maps = MapSet(x, x, x + 0.1, x + 0.1, x.copy(), x.copy(), np.zeros((4, 4), bool))
    maps.error[0, 0] = 100.0  # outside the brain mask below
    mask = np.ones((4, 4), bool)
    mask[0, 0] = False
    maps = MapSet(x, x, x + 0.1, x + 0.1, maps.error, maps.pixel_score, mask)
    scores = score_slice(maps, alpha=1.0, slice_index=0, brain_fraction=1.0)
    assert scores.recon_error == 0.0
    assert abs(scores.unc_total - 0.2) < 1e-6


def test_empty_slice_scores_are_nan_and_marked_empty():
    x = np.zeros((4, 4), dtype=np.float32)
    empty = MapSet.empty(x, np.zeros((4, 4), bool))
    scores = score_slice(empty, alpha=0.5, slice_index=3, brain_fraction=0.0)
    assert scores.empty and np.isnan(scores.anomaly_score)


def _disc(size: int = 64, radius: int = 24) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < radius**2


def test_peak_finds_a_small_lesion_that_the_mean_misses():
    from bvae_viewer.analysis.maps import peak_pixel_score

    mask = _disc()
    rng = np.random.default_rng(0)
    pix = rng.uniform(0.5, 1.5, mask.shape).astype(np.float32)
    lesion = pix.copy()
    lesion[30:34, 30:34] = 20.0  # 16 pixels in ~1800 of brain
    assert abs(lesion[mask].mean() - pix[mask].mean()) < 0.2  # the mean barely moves
    assert peak_pixel_score(pix, mask) < 1.6
    assert peak_pixel_score(lesion, mask) > 15.0


def test_peak_ignores_a_lone_hot_pixel_and_the_brain_edge():
    from bvae_viewer.analysis.maps import PEAK_ERODE_PX, peak_pixel_score

    mask = _disc()
    pix = np.ones(mask.shape, np.float32)
    pix[32, 32] = 1000.0  # one noisy pixel: the median filter removes it
    assert peak_pixel_score(pix, mask) == 1.0
    edge = np.ones(mask.shape, np.float32)
    inner = ndimage.binary_erosion(mask, iterations=PEAK_ERODE_PX)
    edge[mask & ~inner] = 50.0  # a bright rim, as where a VAE blurs the brain outline
    assert peak_pixel_score(edge, mask) == 1.0


def test_score_slice_uses_the_chosen_reduction():
    mask = _disc()
    x = np.zeros(mask.shape, np.float32)
    pix = np.ones(mask.shape, np.float32)
    pix[28:36, 28:36] = 9.0
    maps = MapSet(x, x, x + 0.1, x, x.copy(), pix, mask)
    mean = score_slice(maps, alpha=0.0, slice_index=0, brain_fraction=0.5)
    peak = score_slice(maps, alpha=0.0, slice_index=0, brain_fraction=0.5, reduction="peak")
    assert mean.anomaly_score == mean.pixel_score_mean < 2.0
    assert peak.anomaly_score == peak.pixel_score_peak == 9.0
    assert peak.pixel_score_mean == mean.pixel_score_mean


def test_peak_equals_the_maximum_of_the_median_filtered_inner_brain():
    from bvae_viewer.analysis.maps import PEAK_ERODE_PX, PEAK_MEDIAN_PX, peak_pixel_score

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    for trial in range(40):
        cy, cx = rng.integers(10, 54, 2)
        a, b = rng.integers(6, 30, 2)
        mask = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 < 1
        pix = rng.gamma(1.0, 1.0, mask.shape).astype(np.float32)
        pix[cy - 2 : cy + 3, cx - 2 : cx + 2] += rng.uniform(2, 40)
        if trial % 4 == 0:
            pix = np.round(pix)  # ties
        inner = ndimage.binary_erosion(
            mask, ndimage.generate_binary_structure(2, 1), iterations=PEAK_ERODE_PX
        )
        if inner.sum() < PEAK_MEDIAN_PX**2:
            inner = mask
        filtered = ndimage.median_filter(
            np.where(inner, pix, 0.0), PEAK_MEDIAN_PX, mode="constant"
        )
        assert peak_pixel_score(pix, mask) == float(filtered[inner].max())
