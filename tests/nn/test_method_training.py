"""Reverse Distillation and the Probabilistic U-Net trained by `train`'s own code on a tiny
BraTS-layout folder, saved as model folders, loaded, and used by `analyze`."""

import csv
import json

import pytest

from bvae_viewer.analysis.model_info import read_model_info
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.nn.method_training import (
    prob_unet_config,
    rd_config,
    train_prob_unet_bundle,
    train_rd_bundle,
)
from bvae_viewer.nn.train import TrainOptions
from bvae_viewer.pipeline.analyze import analyze_file
from tests.volumes import write_brats_case

pytestmark = pytest.mark.slow

OPTIONS = TrainOptions(epochs=1, batch_size=16, patience=1, time_budget_s=4, device="cpu")


@pytest.fixture(scope="module")
def brats(tmp_path_factory):
    data = tmp_path_factory.mktemp("brats")
    for i in range(7):
        write_brats_case(data, f"BraTS20_Training_{i:03d}", tumour=i % 3 != 0, seed=i)
    return data


def _check_model_and_analyze(model, data, method, tmp_path):
    info = read_model_info(model)
    assert info.method == method
    assert info.training["command"] == "test"
    assert info.training["total_wall_seconds"] > 0
    assert set(info.training["cases"]) == {"train", "val", "test"}
    cal = info.calibration
    assert 0.0 <= cal.alpha <= 1.0 and cal.reduction in ("mean", "peak")
    assert set(cal.map_levels) >= {"error", "aleatoric", "epistemic"}
    assert cal.ood["latent_nll_max"] is None  # no latent likelihood in this method
    assert "roc_auc" in info.metrics["test"]
    bundle = load_bundle(model)  # the sha256 is verified on the way in
    assert bundle.method == method and bundle.info.sha256 == info.sha256
    case = data / "BraTS20_Training_001" / "BraTS20_Training_001_t1ce.nii.gz"
    out = tmp_path / "analysis"
    result = analyze_file(case, out, bundle, device="cpu", samples=2, use_cache=False)
    rows = list(csv.DictReader((out / "slices.csv").open()))
    assert len(rows) == result.extra["n_slices"] > 0
    assert {r["decision"] for r in rows} <= {"normal", "flagged", "review", "empty"}
    case_json = json.loads((out / "case.json").read_text())
    assert case_json["model"] == {"name": info.name, "sha256": info.sha256, "method": method}
    return rows


def test_reverse_distillation_trains_calibrates_saves_and_analyzes(brats, tmp_path):
    model = tmp_path / "rd"
    info = train_rd_bundle(brats, model, rd_config(width=4), OPTIONS, "rd-test", "test")
    assert info.training["teacher"]["steps"] > 0 and info.training["student"]["steps"] > 0
    rows = _check_model_and_analyze(model, brats, "reverse_distillation", tmp_path)
    brain = [r for r in rows if r["decision"] != "empty"]
    assert all(float(r["unc_epistemic"]) > 0 for r in brain)  # bottleneck dropout masks


def test_prob_unet_trains_supervised_calibrates_saves_and_analyzes(brats, tmp_path):
    model = tmp_path / "pu"
    config = prob_unet_config(width=2)
    assert config.uncertainty_weight > 0  # the supervised uncertainty loss is on
    info = train_prob_unet_bundle(brats, model, config, OPTIONS, "pu-test", "test", max_steps=3)
    assert 1 <= info.training["steps"] <= 3 and info.training["n_train_tumour_slices"] > 0
    rows = _check_model_and_analyze(model, brats, "prob_unet", tmp_path)
    assert all(float(r["unc_epistemic"]) == 0 for r in rows if r["decision"] != "empty")
