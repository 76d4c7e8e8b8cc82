"""Key images on the input's own slices when the front end ran (issue 17): the acquired
slice through the finding's peak, the region carried onto it, numbered as acquired."""

import numpy as np

from bvae_viewer.analysis.acquired_view import acquired_view
from bvae_viewer.analysis.case import assess_case
from bvae_viewer.analysis.findings import region_mask
from bvae_viewer.analysis.maps import score_slice
from bvae_viewer.analysis.model_info import Calibration
from bvae_viewer.review.report_data import RegionKeeper
from bvae_viewer.review.report_findings import case_findings
from tests.review.reportkit import (
    INPUT_OFFSET,
    PIXEL_LEVEL,
    PIXEL_MM,
    SIZE,
    SLICE_MM,
    Z0_MM,
    _maps,
    geometry,
)


def test_key_image_is_the_acquired_slice_with_the_region_carried_onto_it():
    n = 12
    stack, maps = _maps(n)
    scores = [score_slice(m, 0.5, k, float(stack.brain_fraction[k])) for k, m in enumerate(maps)]
    result = assess_case(stack, scores, Calibration(alpha=0.5, score_threshold=0.02,
                                                    uncertainty_threshold=0.01))
    regions = RegionKeeper(result.policy)
    for s, m in zip(scores, maps, strict=True):
        regions.offer(s, m)
    where = geometry(n)
    # The input: the model's slices with INPUT_OFFSET slices of padding below and above,
    # in RAS voxel order; its bright lesion is where the model's is.
    data = np.zeros((SIZE, SIZE, n + 2 * INPUT_OFFSET), dtype=np.float32)
    for p in range(n):
        data[:, :, p + INPUT_OFFSET] = np.rot90(stack.images[p], k=-1) * 300.0
    view = acquired_view(data, (PIXEL_MM, PIXEL_MM, SLICE_MM), where, 300.0)  # 300 shows as 1
    plain, _ = case_findings(stack, where, result, regions.maps, PIXEL_LEVEL)
    found, keys = case_findings(stack, where, result, regions.maps, PIXEL_LEVEL, acquired=view)
    assert found == plain and found, "the fixture must give a finding"
    key = keys[found[0].number]
    assert key.acquired_slice == key.position + INPUT_OFFSET
    assert key.acquired_z_mm == Z0_MM + SLICE_MM * key.acquired_slice
    # The same pixels as the model's slice: this input's grid is the model's, shifted.
    np.testing.assert_allclose(key.image, stack.images[key.position] / stack.images.max(),
                               atol=0.02)
    model_region = region_mask(regions.maps[key.position], PIXEL_LEVEL)
    assert model_region.any()
    np.testing.assert_array_equal(key.region, model_region)
