"""An ensemble of two tiny members, end to end through `bvae-viewer analyze`."""

import csv
import json

from bvae_viewer.nn.voices import assemble_ensemble
from tests.cli.test_cli import assert_one_clear_line, run_cli
from tests.nn.nnkit import make_bundle, tiny_config
from tests.volumes import brain_phantom, write_nifti


def _column(out, name):
    with open(out / "slices.csv", encoding="utf-8") as fh:
        return [float(r[name]) for r in csv.DictReader(fh) if r["decision"] != "empty"]


def test_two_members_run_through_analyze(tmp_path):
    config = tiny_config(image_size=128)
    make_bundle(tmp_path / "a", config, seed=1)
    make_bundle(tmp_path / "b", config, seed=2)
    assemble_ensemble(tmp_path / "a", [tmp_path / "b"], tmp_path / "ens")
    image, _ = brain_phantom(shape=(64, 72, 16))
    volume = write_nifti(tmp_path / "case.nii.gz", image)
    model = str(tmp_path / "ens")

    single = run_cli("analyze", str(volume), "--out", str(tmp_path / "one"), "--model", model,
                     "--samples", "2", "--device", "cpu")
    pooled = run_cli("analyze", str(volume), "--out", str(tmp_path / "two"), "--model", model,
                     "--samples", "2", "--device", "cpu", "--members", "2")
    assert single.returncode == 0, single.stderr
    assert pooled.returncode == 0, pooled.stderr
    case = json.loads((tmp_path / "two" / "case.json").read_text())
    assert case["engine_options"] == "2 members"
    assert json.loads((tmp_path / "one" / "case.json").read_text())["engine_options"] == (
        "single model")
    # Two differently initialised networks disagree more than one network's latent samples.
    one, two = _column(tmp_path / "one", "unc_epistemic"), _column(tmp_path / "two",
                                                                   "unc_epistemic")
    assert len(one) == len(two) > 0
    assert sum(two) > sum(one)

    too_many = run_cli("analyze", str(volume), "--out", str(tmp_path / "three"), "--model",
                       model, "--members", "3", "--device", "cpu")
    assert too_many.returncode == 2
    assert "2 ensemble member" in assert_one_clear_line(too_many)
    assert not (tmp_path / "three" / "case.json").exists()
