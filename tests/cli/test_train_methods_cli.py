"""`bvae-viewer train --method prob_unet` and `analyze` with the model it saves, end to end,
and the one-line refusals of a model folder `analyze` / `bench` cannot use."""

import json

import pytest

from tests.cli.test_cli import assert_one_clear_line, run_cli

pytestmark = pytest.mark.slow


def test_train_prob_unet_then_analyze_and_refusals(tmp_path, tiny_brats):
    data = tiny_brats
    model = tmp_path / "pu"
    proc = run_cli("train", "--data", data, "--out", model, "--method", "prob_unet",
                   "--width", "2", "--epochs", "1", "--batch-size", "16", "--time-budget", "2",
                   "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    info = json.loads((model / "model.json").read_text())
    assert info["method"] == "prob_unet" and info["config"]["channels"] == [2, 4, 8, 16]
    assert info["training"]["command"].startswith("bvae-viewer train --data")
    case = data / "BraTS20_Training_001" / "BraTS20_Training_001_t1ce.nii.gz"
    out = tmp_path / "out"
    proc = run_cli("analyze", case, "--out", out, "--model", model, "--samples", "2",
                   "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "case.json").read_text())["model"]["method"] == "prob_unet"
    assert (out / "slices.csv").read_text().startswith("slice,")

    line = assert_one_clear_line(run_cli("bench", "--model", model, "--training"))
    assert "Bayesian VAE only" in line
    line = assert_one_clear_line(
        run_cli("train", "--data", data, "--out", tmp_path / "x", "--method", "prob_unet",
                "--init-from", model)
    )
    assert "bvae method only" in line

    info["method"] = "diffusion"
    (model / "model.json").write_text(json.dumps(info))
    line = assert_one_clear_line(
        run_cli("analyze", case, "--out", tmp_path / "out2", "--model", model)
    )
    assert "diffusion" in line
    assert not (tmp_path / "out2").exists()
