"""The given model's row of `evaluate` is the model as `analyze` runs it: the same scores
(its alpha and peak reduction), the same triage, the same case calls, on a tiny folder."""

import json

import numpy as np
import pytest
import torch

from bvae_viewer.analysis.evaluation.slices import OperatingPoint, ScoredSlices
from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.nn.bundle import load_bundle, save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.evaluate import run_evaluate
from bvae_viewer.nn.network import build_network
from bvae_viewer.pipeline.analyze import analyze_file
from tests.volumes import write_brats_case

pytestmark = pytest.mark.slow


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    for i in range(6):
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=i % 3 != 0, seed=i)
    return root


@pytest.fixture
def model(tmp_path):
    """The app's fast network at 128 px (untrained), calibrated as a shipped model is."""
    torch.manual_seed(0)
    calibration = Calibration(alpha=0.5, reduction="peak", score_threshold=2.0,
                              uncertainty_threshold=0.05, review_band=1.5)  # fmt: skip
    folder = tmp_path / "model"
    info = ModelInfo("shipped-like", {}, "", "", calibration=calibration)
    save_bundle(build_network(ModelConfig.fast()).eval(), info, folder)
    return folder


def test_the_bundled_row_is_what_analyze_gives(tmp_path, folder, model):
    out = tmp_path / "eval"
    assert run_evaluate(folder, out, model, preset="quick", device="cpu",
                        groups=("bundled",)) == 0  # fmt: skip
    row = json.loads((out / "metrics.json").read_text())["rows"]["bundled"]
    data = json.loads((out / "rows" / "bundled.json").read_text())
    test = ScoredSlices.from_columns(data, "bundled.test.")
    op = OperatingPoint.from_dict(data["bundled.op"])
    assert op.source == "model.json" and op.reduction == "peak" and op.review_band == 1.5
    scores, reviewed = op.scores(test), op.reviewed(test)
    bundle = load_bundle(model)
    heldout = {c["case"]: c for c in row["heldout"]["cases"]}
    assert len(heldout) == 6  # the model saw none of these cases: all held out
    compared = 0
    for case_id in sorted(heldout):
        image = folder / case_id / f"{case_id}_t1ce.nii.gz"
        result = analyze_file(image, None, bundle, device="cpu", samples=5, use_cache=False)
        assert heldout[case_id]["case_decision"] == result.case.decision.value
        by_index = {s.slice_index: s for s in result.scores}
        for i in np.flatnonzero(test.case_ids == case_id):
            s = by_index[int(test.slice_index[i])]
            assert scores[i] == pytest.approx(s.anomaly_score, rel=1e-5)
            assert test.unc_total[i] == pytest.approx(s.unc_total, rel=1e-5)
            decision = result.policy.decide_slice(s)
            assert bool(reviewed[i]) == (decision == Decision.REVIEW)
            if decision != Decision.REVIEW:
                assert (scores[i] > op.score_threshold) == (decision == Decision.FLAGGED)
            compared += 1
    assert compared == len(test) == row["n_test_slices"] > 0
