"""Reverse Distillation and Probabilistic U-Net model folders: saved, verified, loaded, and
run by the app's InferenceEngine with maps that obey each method's definitions."""

import json

import numpy as np
import pytest
import torch

from bvae_viewer.analysis.maps import EPS
from bvae_viewer.analysis.model_info import ModelInfoError, read_model_info
from bvae_viewer.nn.bundle import WEIGHTS_FILE, WeightsError, file_sha256, load_bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.prob_unet import ProbUNet
from bvae_viewer.nn.producers import slice_noise, slice_seed
from bvae_viewer.nn.rd_sampling import (
    mc_dropout_sample_maps,
    summarise_samples,
    tta_sample_maps,
)
from bvae_viewer.nn.registry import RDNetwork
from bvae_viewer.nn.tta import tta_views
from bvae_viewer.pipeline.run import cache_key_for
from tests.nn.nnkit import make_method_bundle, make_stack, tiny_prob_unet_config, tiny_rd_config

FIELDS = ("reconstruction", "aleatoric", "epistemic", "error", "pixel_score")


@pytest.fixture(params=["rd", "pu"])
def method_bundle(request, tmp_path):
    config = tiny_rd_config() if request.param == "rd" else tiny_prob_unet_config()
    return make_method_bundle(tmp_path / request.param, config)


@pytest.fixture
def rd_bundle(tmp_path):
    return make_method_bundle(tmp_path / "rd", tiny_rd_config())


@pytest.fixture
def pu_bundle(tmp_path):
    return make_method_bundle(tmp_path / "pu", tiny_prob_unet_config())


def _run(bundle, **kwargs):
    order = kwargs.pop("order", None)
    engine = InferenceEngine(bundle, device="cpu", **kwargs)
    return {r.position: r for r in engine.run(make_stack(), order=order)}


def test_model_folder_names_its_method_and_loads_the_right_network(method_bundle, tmp_path):
    folder = next(p for p in tmp_path.iterdir() if p.is_dir() and (p / "model.json").exists())
    info = read_model_info(folder)
    assert info.method == method_bundle.method in ("reverse_distillation", "prob_unet")
    assert info.sha256 == file_sha256(folder / WEIGHTS_FILE)
    expected = RDNetwork if info.method == "reverse_distillation" else ProbUNet
    assert isinstance(method_bundle.network, expected)
    assert method_bundle.image_size == 32 and not method_bundle.network.training
    again = load_bundle(folder)
    assert again.config == method_bundle.config  # tuples survive the JSON round trip
    for a, b in zip(again.network.state_dict().values(),
                    method_bundle.network.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_tampered_weights_are_refused(rd_bundle, tmp_path):
    weights = tmp_path / "rd" / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="checksum"):
        load_bundle(tmp_path / "rd")


def _edit_model_json(folder, **changes):
    raw = json.loads((folder / "model.json").read_text())
    for key, value in changes.items():
        if key == "config":
            raw["config"].update(value)
        else:
            raw[key] = value
    (folder / "model.json").write_text(json.dumps(raw))


def test_unknown_method_is_one_sentence(pu_bundle, tmp_path):
    _edit_model_json(tmp_path / "pu", method="diffusion")
    with pytest.raises(ModelInfoError) as err:
        load_bundle(tmp_path / "pu")
    message = str(err.value)
    assert "diffusion" in message and message.count(". ") == 0 and "\n" not in message


def test_a_config_that_does_not_fit_the_weights_is_refused(rd_bundle, tmp_path):
    _edit_model_json(tmp_path / "rd", config={"width": 8})
    with pytest.raises(WeightsError, match="do not fit"):
        load_bundle(tmp_path / "rd")
    _edit_model_json(tmp_path / "rd", config={"width": 4, "heads": 2})
    with pytest.raises(WeightsError, match="different version"):
        load_bundle(tmp_path / "rd")


def test_engine_streams_every_method_in_the_requested_order(method_bundle):
    engine = InferenceEngine(method_bundle, device="cpu", samples=3, batch_size=4)
    positions = [r.position for r in engine.run(make_stack(), order=[7, 6, 8, 0])]
    assert positions[:4] == [7, 6, 8, 0]
    assert sorted(positions) == list(range(12))


def test_results_depend_on_seed_and_position_only(method_bundle):
    a = _run(method_bundle, samples=3, batch_size=16)
    b = _run(method_bundle, samples=3, batch_size=3, order=[9, 2, 5])
    for p in range(12):
        for name in FIELDS:
            np.testing.assert_allclose(
                getattr(a[p].maps, name), getattr(b[p].maps, name), rtol=1e-4, atol=1e-6
            )
    assert np.isnan(a[5].scores.latent_nll)  # neither method has a latent likelihood
    assert a[0].scores.empty and not a[5].scores.empty


def test_reverse_distillation_maps_follow_their_definitions(rd_bundle):
    results = _run(rd_bundle, samples=4, seed=7)
    net, stack = rd_bundle.network, make_stack()
    views = tta_views(8, 32)
    for p in (3, 5):
        maps = results[p].maps
        x = torch.from_numpy(stack.images[p])[None, None]
        dropout = mc_dropout_sample_maps(net.teacher, net.student, x, 4, [slice_seed(7, p)])
        mean, epistemic = summarise_samples(dropout)
        _, aleatoric = summarise_samples(tta_sample_maps(net.teacher, net.student, x, views))
        np.testing.assert_allclose(maps.error, mean[0].numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(maps.epistemic, epistemic[0].numpy(), rtol=1e-3, atol=1e-7)
        np.testing.assert_allclose(maps.aleatoric, aleatoric[0].numpy(), rtol=1e-3, atol=1e-7)
        np.testing.assert_array_equal(maps.reconstruction, maps.error)
        np.testing.assert_allclose(
            maps.pixel_score, maps.error / (maps.aleatoric + maps.epistemic + EPS), rtol=1e-5
        )
        assert maps.epistemic.max() > 0 and maps.aleatoric.max() > 0
    one = _run(rd_bundle, samples=1, seed=7)
    assert not one[5].maps.epistemic.any()  # one dropout mask: no spread


def test_prob_unet_maps_follow_their_definitions(pu_bundle):
    results = _run(pu_bundle, samples=4, seed=3)
    net, stack = pu_bundle.network, make_stack()
    for p in (3, 5):
        maps = results[p].maps
        x = torch.from_numpy(stack.images[p])[None, None]
        with torch.no_grad():
            probs = net.prior_samples(x, slice_noise(3, p, 4, net.config.latent_dim)[None])[0]
        np.testing.assert_allclose(maps.error, probs.mean(0).numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(
            maps.aleatoric, probs.var(0, unbiased=True).numpy(), rtol=1e-3, atol=1e-8
        )
        assert not maps.epistemic.any()
        np.testing.assert_array_equal(maps.reconstruction, maps.error)
        np.testing.assert_allclose(maps.pixel_score, maps.error / (maps.aleatoric + EPS), rtol=1e-5)
        assert maps.aleatoric.max() > 0
        assert results[p].scores.unc_epistemic == 0.0
    one = _run(pu_bundle, samples=1)
    assert not one[5].maps.aleatoric.any() and np.isfinite(one[5].scores.anomaly_score)


def test_results_of_every_method_may_be_cached_under_their_sha(method_bundle):
    engine = InferenceEngine(method_bundle, device="cpu", samples=2)
    key = cache_key_for(make_stack(), "case", engine)
    assert key is not None and key.model_sha256 == method_bundle.info.sha256
