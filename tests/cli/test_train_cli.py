"""`bvae-viewer train` end to end on a tiny BraTS-layout folder: a model folder that loads."""

import json

import pytest
import torch
from safetensors.torch import load_file

from bvae_viewer.nn.bundle import load_bundle
from tests.cli.test_cli import run_cli

pytestmark = pytest.mark.slow


def test_train_writes_a_calibrated_model_that_analyze_can_use(tmp_path, tiny_brats):
    data = tiny_brats
    out = tmp_path / "model"
    proc = run_cli("train", "--data", data, "--out", out, "--config", "fast", "--epochs", "1",
                   "--batch-size", "16", "--lr-warmup-steps", "2", "--warmup-epochs", "1")
    assert proc.returncode == 0, proc.stderr
    info = json.loads((out / "model.json").read_text())
    assert info["training"]["command"].startswith("bvae-viewer train --data")
    assert info["training"]["epochs_run"] == 1
    assert set(info["training"]["cases"]) == {"train", "val", "test"}
    assert 0.0 <= info["calibration"]["alpha"] <= 1.0
    val = info["metrics"]["validation"]
    assert len(val["slices"]["anomaly_score"]) == len(val["slices"]["abnormal"]) > 0
    bundle = load_bundle(out)
    assert bundle.info.sha256 == info["sha256"]
    case = tmp_path / "case.nii.gz"
    case.write_bytes((data / "BraTS20_Training_001" / "BraTS20_Training_001_t1ce.nii.gz")
                     .read_bytes())
    proc = run_cli("analyze", case, "--out", tmp_path / "out", "--model", out, "--samples", "2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "out" / "case.json").read_text())["model"]["sha256"] == (
        info["sha256"]
    )

    # Fine-tuning starts from the given weights: at learning rate 0 they come out unchanged.
    tuned = tmp_path / "tuned"
    proc = run_cli("train", "--data", data, "--out", tuned, "--init-from", out, "--epochs", "1",
                   "--batch-size", "16", "--lr", "0", "--warmup-epochs", "0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tuned / "model.json").read_text())["training"]["init_from"] == str(out)
    before, after = load_file(out / "weights.safetensors"), load_file(tuned / "weights.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)

    (out / "weights.safetensors").write_bytes(b"damaged")
    proc = run_cli("train", "--data", data, "--out", tmp_path / "t2", "--init-from", out)
    assert proc.returncode == 2
    assert "checksum" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "t2" / "model.json").exists()


def test_train_on_a_folder_without_cases_is_one_clear_line(tmp_path):
    proc = run_cli("train", "--data", tmp_path, "--out", tmp_path / "m")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
