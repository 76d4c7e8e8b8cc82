"""`bvae-viewer evaluate --robustness` end to end on a tiny suite, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_one_clear_line, run_cli

pytest.importorskip("nilearn")


@pytest.mark.slow
def test_robustness_on_a_tiny_suite(untrained_model: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "rob", tmp_path / "cache"
    proc = run_cli("evaluate", "--robustness", "--robustness-factors", "bias",
                   "--robustness-subjects", "1", "--model", untrained_model, "--out", out,
                   "--robustness-cache", cache, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "robustness.json").read_text())
    rows = result["rows"]
    assert result["complete"] and result["n_cases"] == len(result["cases"]) == 6
    assert [r["strength"] for r in rows] == [0.0, 0.2, 0.35]
    assert [r["beyond_training"] for r in rows] == [False, False, True]
    for r in rows:
        assert r["n_normal"] == 1 and r["n_tumour"] == 1
        assert 0.0 <= r["normal_slices_flagged"] <= 1.0
        assert r["normal_called_normal"] in (0.0, 1.0)
    assert (out / "robustness_bias.png").stat().st_size > 1000
    assert "| bias | 0.35 * |" in (out / "robustness.md").read_text()
    volumes = sorted(cache.glob("case_*.nii"))
    assert len(volumes) == 6 and not list(cache.glob(".*"))
    # The suite decides as the app does: `analyze` on its most biased normal volume agrees.
    record = [r for r in result["cases"] if not r["has_tumour"]][-1]
    analysed = run_cli("analyze", cache / record["file"], "--out", tmp_path / "a", "--model",
                       untrained_model, "--device", "cpu", "--no-cache")
    assert analysed.returncode == 0, analysed.stderr
    case = json.loads((tmp_path / "a" / "case.json").read_text())
    assert case["decision"] == record["decision"]
    assert case["counts"]["flagged"] == record["flagged_slices"]
    assert sum(case["counts"].values()) - case["counts"]["empty"] == record["brain_slices"]


def test_bad_robustness_options_are_one_line(tmp_path: Path) -> None:
    line = assert_one_clear_line(run_cli("evaluate", "--out", tmp_path / "x"))
    assert "--data" in line
    line = assert_one_clear_line(run_cli("evaluate", "--robustness", "--robustness-factors",
                                         "weather", "--out", tmp_path / "x"))
    assert "weather" in line
    assert not (tmp_path / "x").exists()
