"""`analyze --preprocess`: a head with skull through the front end, back onto its slices."""

import json

import numpy as np
import pytest

from tests.cli.test_cli import run_cli
from tests.data.frontend_volumes import moved_head
from tests.volumes import write_nifti


@pytest.mark.slow
def test_cut_off_head_goes_to_review_with_its_reason(tmp_path, untrained_model):
    # 5 mm axial slices that stop 4 cm below the top of the brain: the field of view cuts it.
    world = np.eye(4)
    world[2, 3] = 40.0
    volume, _ = moved_head(world, (3.0, 3.0, 5.0), (64, 76, 24))
    path = write_nifti(tmp_path / "head.nii.gz", volume.data, volume.affine)
    out = tmp_path / "out"
    proc = run_cli("analyze", path, "--out", out, "--model", untrained_model,
                   "--device", "cpu", "--samples", "2", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    case = json.loads((out / "case.json").read_text())
    assert case["decision"] == "review"
    assert case["reasons"][0].startswith("brain extraction is not trustworthy")
    front = case["frontend"]
    assert front["ran"] and front["input_slice_mm"] == 5.0
    assert [s["name"] for s in front["steps"]][1:3] == [
        "N4 bias-field correction", "affine registration"]
    assert "5.0 mm thick" in front["notes"][0]
    calls = front["input_slice_decisions"]
    assert len(calls) == 24 and "normal" not in calls  # nothing cleared in a review case
    never = tmp_path / "never"
    proc = run_cli("analyze", path, "--out", never, "--model", untrained_model,
                   "--device", "cpu", "--samples", "2", "--preprocess", "never", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((never / "case.json").read_text())["frontend"]["ran"] is False
