import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bvae_viewer import __version__
from tests.volumes import brain_phantom, write_nifti


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bvae_viewer", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )


def assert_one_clear_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_version_names_app_and_research_use():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert __version__ in proc.stdout and "research use only" in proc.stdout


def test_analyze_missing_file(tmp_path, untrained_model):
    out = tmp_path / "out"
    line = assert_one_clear_line(
        run_cli("analyze", tmp_path / "nope.nii.gz", "--out", out, "--model", untrained_model)
    )
    assert "nope.nii.gz" in line
    assert not out.exists()


def test_analyze_garbage_file(tmp_path, untrained_model):
    bad = tmp_path / "scan.nii.gz"
    bad.write_bytes(b"this is not an image at all" * 10)
    out = tmp_path / "out"
    assert_one_clear_line(run_cli("analyze", bad, "--out", out, "--model", untrained_model))
    assert not out.exists()


def test_analyze_writes_the_contract(tmp_path, untrained_model):
    image, _ = brain_phantom(shape=(64, 72, 30))
    path = write_nifti(tmp_path / "case.nii.gz", image)
    out = tmp_path / "out"
    proc = run_cli("analyze", path, "--out", out, "--model", untrained_model,
                   "--device", "cpu", "--samples", "3")
    assert proc.returncode == 0, proc.stderr
    rows = (out / "slices.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) == 31
    for column in ("slice", "anomaly_score", "recon_error", "unc_total", "unc_epistemic",
                   "unc_aleatoric", "brain_fraction", "decision"):
        assert column in header
    case = json.loads((out / "case.json").read_text())
    assert case["decision"] in {"normal", "flagged", "review"}
    assert len(case["model"]["sha256"]) == 64
    assert case["device"].startswith("CPU")
    assert case["samples"] == 3
    assert case["timings_s"]["inference"] > 0


def test_tampered_weights_are_refused(tmp_path, untrained_model):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(untrained_model, copy)
    weights = copy / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    image, _ = brain_phantom(shape=(64, 72, 30))
    path = write_nifti(tmp_path / "case.nii.gz", image)
    line = assert_one_clear_line(run_cli("analyze", path, "--out", tmp_path / "o", "--model", copy))
    assert "checksum" in line


@pytest.mark.parametrize("args", [["analyze"], ["train", "--data"], ["frobnicate", "--x"]])
def test_usage_errors_exit_2(args):
    assert run_cli(*args).returncode == 2


def test_evaluate_with_an_unknown_group_is_one_clear_line(tmp_path):
    proc = run_cli("evaluate", "--data", tmp_path, "--out", tmp_path / "o", "--groups", "fast,nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nope" in proc.stderr
    assert not (tmp_path / "o").exists()
