"""`evaluate` end to end: the quick preset on a tiny BraTS2020-layout folder written here."""

import json
import os
import time

import numpy as np
import pytest
import torch

from bvae_viewer.analysis.evaluation.paper import ROWS
from bvae_viewer.cli import main
from bvae_viewer.nn.evaluate import run_evaluate
from tests.nn.nnkit import make_bundle, tiny_config
from tests.volumes import write_brats_case

HEALTHY = (3, 7)  # BraTS training cases all have tumours; two healthy ones give normal slices


@pytest.fixture
def threads():
    """Honour OMP_NUM_THREADS (a shared machine) over the 2 threads nnkit sets."""
    before = torch.get_num_threads()
    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    yield
    torch.set_num_threads(before)


@pytest.fixture
def brats_folder(tmp_path):
    root = tmp_path / "MICCAI_BraTS2020_TrainingData"
    for i in range(1, 9):
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=i not in HEALTHY, seed=i)
    return root


def _finite_between(value, low, high):
    return isinstance(value, float) and np.isfinite(value) and low <= value <= high


@pytest.mark.slow
def test_quick_preset_writes_metrics_report_and_plots(tmp_path, brats_folder, threads, capsys):
    model = tmp_path / "model"
    make_bundle(model, tiny_config())  # the "given model": an untrained tiny network
    out = tmp_path / "eval"
    start = time.perf_counter()
    assert run_evaluate(brats_folder, out, model, preset="quick", device="cpu", seed=0) == 0
    first_run = time.perf_counter() - start

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "done"
    assert set(metrics["rows"]) == set(ROWS)  # every row of the issue, the given model's too
    for name, row in metrics["rows"].items():  # how each network's training ended, and why
        training = row["training"] if name != "bundled" else {"stopped": "plateau", "steps": 1}
        assert training["steps"] and training["stopped"].split("/")[0] in (
            "plateau", "cap: epochs", "cap: wall", "cap: steps", "the plain row's steps"
        ), name  # fmt: skip
    assert metrics["data"]["kind"] == "other"  # phantoms named like BraTS are still not BraTS
    assert metrics["data"]["n_cases"] == {"train": 4, "val": 2, "test": 2}
    cases = metrics["data"]["cases"]
    assert not set(cases["train"]) & set(cases["test"])  # split by patient
    for name, row in metrics["rows"].items():
        d = row["detection"]
        assert _finite_between(d["roc_auc"], 0.0, 1.0), name
        assert _finite_between(d["pr_auc"], 0.0, 1.0), name
        assert d["mean_score_normal"] >= 0 and d["mean_score_abnormal"] >= 0
        assert row["n_test_slices"] == metrics["data"]["n_slices"]["test"]
        assert row["speed"]["s_per_volume"] > 0
        a = row["abstention"]
        assert _finite_between(a["by"]["score"]["aurc"], a["oracle_aurc"], 1.0), name
        if "uncertainty" in a["by"]:
            assert _finite_between(a["by"]["uncertainty"]["aurc"], a["oracle_aurc"], 1.0)
            assert len(row["quintiles"]) == 5
    # A bright tumour on a smooth phantom: even a barely trained network ranks tumour slices
    # first (by brightness; the report's reconstruction skill says it learned little else).
    assert metrics["rows"]["paper"]["detection"]["roc_auc"] > 0.6
    assert isinstance(metrics["rows"]["paper"]["reconstruction_skill"], float)
    assert metrics["rows"]["paper"]["speed"]["engine_s_per_volume"] > 0
    assert metrics["rows"]["bundled"]["operating_point"]["source"] == "model.json"
    # Decoding mu once leaves no epistemic part: as a detector it is a coin toss.
    assert metrics["rows"]["no_epistemic"]["by_uncertainty"]["as_score"]["epistemic"] == 0.5

    report = (out / "report.md").read_text()
    assert "is not BraTS" in report and "0.834" in report and "0.751" in report
    assert "## Abstention" in report
    # Ten seconds a network teaches these nothing: each is reported as not trained, by name.
    for name, row in metrics["rows"].items():
        if row["trained"] is False:
            assert f"{ROWS[name][0]} (" in report.split("## Not trained")[1].split("##")[0]
        elif row["trained"] is None:  # no reconstruction to judge (segmentation, distillation)
            assert name.startswith(("prob_unet", "rd")), name
    for png in ("roc.png", "pr.png", "risk_coverage.png", "score_histograms.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert metrics["plots"] == ["roc.png", "pr.png", "risk_coverage.png", "score_histograms.png"]
    printed = capsys.readouterr().out
    assert "deep ensemble" in printed and "wrote" in printed

    # Resume with the same settings: every group is reused, nothing is trained.
    start = time.perf_counter()
    assert run_evaluate(brats_folder, out, model, "quick", "cpu", seed=0, resume=True) == 0
    assert time.perf_counter() - start < first_run / 2
    again = json.loads((out / "metrics.json").read_text())
    assert again["rows"]["paper"]["detection"] == metrics["rows"]["paper"]["detection"]


def test_cli_turns_a_bad_data_folder_into_exit_2(tmp_path, capsys):
    model = tmp_path / "model"
    make_bundle(model, tiny_config())
    code = main(["evaluate", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"),
                 "--model", str(model), "--device", "cpu"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
    assert not (tmp_path / "o").exists()
