"""`evaluate --deferral-test`: the review-order table through the app's engine, end to end."""

import json
from dataclasses import replace

import numpy as np
import pytest

from bvae_viewer.analysis.model_info import read_model_info, write_model_info
from bvae_viewer.cli import main
from bvae_viewer.data.brats import find_cases, load_case
from bvae_viewer.nn.engine import InferenceEngine
from tests.cli.test_cli import assert_one_clear_line, run_cli
from tests.nn.nnkit import make_bundle, tiny_config
from tests.volumes import write_brats_case


def _folder(root, seeds):
    for s in seeds:
        write_brats_case(root, f"BraTS20_Training_{s:03d}", tumour=s % 3 != 0, seed=s)
    return root


def _model_with_a_line(folder, data):
    """A tiny network whose threshold cuts its own scores in half: both kinds of error."""
    bundle = make_bundle(folder, tiny_config(image_size=128), seed=3)
    stack = load_case(find_cases(data)[0]).stack
    scores = [r.scores.anomaly_score for r in InferenceEngine(bundle, "cpu", 1).run(stack)
              if not r.scores.empty]
    calibration = replace(bundle.info.calibration, score_threshold=float(np.median(scores)),
                          uncertainty_threshold=1e9)
    write_model_info(folder, replace(bundle.info, calibration=calibration))
    return folder


@pytest.mark.slow
def test_the_table_and_the_stored_error_model(tmp_path, capsys):
    val = _folder(tmp_path / "val", (1, 2))
    test = _folder(tmp_path / "test", (4, 5))
    model = _model_with_a_line(tmp_path / "model", val)
    before = read_model_info(model)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(val), "--deferral-test", str(test), "--out", str(out),
                 "--model", str(model), "--deferral-cases", "2", "--deferral-boot", "50",
                 "--deferral-samples", "1",
                 "--device", "cpu", "--store-error-model"]) == 0
    payload = json.loads((out / "deferral.json").read_text())
    rows = {r["order"]: r for r in payload["rows"]}
    assert {"random", "score margin -|log(s/t)|", "oracle"} <= set(rows)
    assert any(name.startswith("error probability") for name in rows)
    # No order beats knowing the errors; each AURC lies in its own interval.
    assert all(rows["oracle"]["aurc"] <= r["aurc"] + 1e-12 for r in rows.values())
    assert all(r["aurc_ci"][0] <= r["aurc"] <= r["aurc_ci"][1] for r in rows.values())
    assert "| oracle |" in (out / "deferral.md").read_text()
    assert "score margin" in capsys.readouterr().out

    after = read_model_info(model)
    assert after.sha256 == before.sha256 and after.calibration == before.calibration
    stored = after.deferral
    assert stored is not None and stored.features == ("log_margin",)
    assert stored.coefficients[0] < 0  # further from the line, less often wrong
    assert "validation subjects" in after.error_model["fitted_on"]


def test_a_missing_folder_is_one_sentence(tmp_path):
    proc = run_cli("evaluate", "--data", tmp_path / "nope", "--deferral-test", tmp_path,
                   "--out", tmp_path / "out")
    assert "No such folder of cases" in assert_one_clear_line(proc)
    assert not (tmp_path / "out").exists()
