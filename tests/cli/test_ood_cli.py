"""`evaluate --ood-test`: held-out subjects and odd inputs through the app's engine with an
ensemble of two tiny members, and its refusals."""

import json

import numpy as np
import pytest

from bvae_viewer.cli import main
from bvae_viewer.nn.voices import assemble_ensemble
from tests.cli.test_cli import assert_one_clear_line, run_cli
from tests.nn.nnkit import make_bundle, tiny_config
from tests.volumes import brain_phantom, write_brats_case, write_nifti


@pytest.mark.slow
def test_the_table_through_an_ensemble(tmp_path, capsys):
    config = tiny_config(image_size=128)
    make_bundle(tmp_path / "a", config, seed=1)
    make_bundle(tmp_path / "b", config, seed=2)
    model = tmp_path / "ens"
    assemble_ensemble(tmp_path / "a", [tmp_path / "b"], model)
    held_out = tmp_path / "held_out"
    for s in (1, 2):
        write_brats_case(held_out, f"BraTS20_Training_{s:03d}", tumour=False, seed=s)
    image, _ = brain_phantom(seed=7)
    inverted = np.where(image > 0, image.max() - image + 1.0, 0.0).astype(np.float32)
    odd = write_nifti(tmp_path / "inverted_contrast.nii.gz", inverted)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(held_out), "--ood-test", str(odd), "--out", str(out),
                 "--model", str(model), "--members", "2", "--ood-cases", "2",
                 "--device", "cpu"]) == 0
    payload = json.loads((out / "ood.json").read_text())
    assert payload["engine_options"] == "2 members"
    kinds = [v["kind"] for v in payload["volumes"]]
    assert kinds == ["held-out subjects", "held-out subjects", "inverted_contrast"]
    for volume in payload["volumes"]:  # two members: a disagreement for every volume
        assert np.isfinite(volume["signals"]["disagreement"])
    rows = {r["signal"]: r for r in payload["rows"]}
    assert set(rows) >= {"disagreement", "checks_fired", "histogram_distance"}
    for row in rows.values():
        assert row["pooled"] is None or 0.0 <= row["pooled"] <= 1.0
    assert "| ensemble disagreement" in (out / "ood.md").read_text()

    too_many = run_cli("evaluate", "--data", held_out, "--ood-test", odd, "--out",
                       tmp_path / "x", "--model", model, "--members", "3", "--device", "cpu")
    assert "2 ensemble member" in assert_one_clear_line(too_many)
    assert not (tmp_path / "x").exists()


def test_inputs_numbered_alike_are_one_kind():
    from pathlib import Path

    from bvae_viewer.ood_cli import _kind

    assert _kind(Path("noise_5pct_1.nii")) == _kind(Path("noise_5pct_2.nii.gz")) == "noise_5pct"
    assert _kind(Path("inverted_contrast.nii.gz")) == "inverted_contrast"
    assert _kind(Path("pd_series")) == "pd_series"  # a DICOM folder
