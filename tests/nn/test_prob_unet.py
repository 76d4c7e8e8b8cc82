"""Probabilistic U-Net: losses, training on a tiny graded set, sampling, and its evaluate rows."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from bvae_viewer.data.graders import pack_graders
from bvae_viewer.data.synth.graders import grader_masks
from bvae_viewer.nn.evaluate import run_evaluate
from bvae_viewer.nn.evaluation import preset as preset_module
from bvae_viewer.nn.prob_unet import (
    ProbUNetConfig,
    build_prob_unet,
    elbo_loss,
    kl_gaussians,
    soft_dice_loss,
    uncertainty_loss,
)
from bvae_viewer.nn.prob_unet_train import (
    grader_mask,
    grader_variance_t,
    train_prob_unet,
)
from bvae_viewer.nn.train import TrainOptions
from tests.nn.nnkit import make_bundle, tiny_config
from tests.volumes import write_brats_case

SIZE = 32
CONFIG = ProbUNetConfig(image_size=SIZE, channels=(8, 16, 32), head_channels=16)


def graded_set(n: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n brain-like discs, every other one with a bright tumour; packed grader masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    images = np.zeros((n, SIZE, SIZE), np.float32)
    segs = np.zeros((n, SIZE, SIZE), np.uint8)
    for i in range(n):
        images[i] = 0.5 * (np.hypot(yy - 16, xx - 16) < 13)
        if i % 2 == 0:
            cy, cx = rng.uniform(11, 21, 2)
            r = np.hypot(yy - cy, xx - cx)
            radius = rng.uniform(3.5, 6.0)
            segs[i][r < radius] = 2
            segs[i][r < radius / 2] = 4
            images[i][r < radius] = 0.9
    masks = np.stack([grader_masks(s, i) for i, s in enumerate(segs)], axis=1)
    return images, pack_graders(masks)


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(2)
    images, bits = graded_set()
    options = TrainOptions(epochs=10, batch_size=8, lr=2e-3, lr_warmup_steps=3, seed=0,
                           device="cpu")  # fmt: skip
    return train_prob_unet(CONFIG, images, bits, 4, options), images, bits


def test_supervised_loss_is_zero_when_the_variance_matches():
    target = torch.rand(2, 8, 8) * 0.25
    assert float(uncertainty_loss(target.clone(), target)) == 0.0
    assert float(uncertainty_loss(target + 0.05, target)) > 0.0


def test_soft_dice_loss_is_zero_for_a_perfect_match_and_one_for_none():
    mask = torch.zeros(2, 1, 8, 8)
    mask[0, 0, 2:6, 2:6] = 1.0
    assert float(soft_dice_loss(mask.clone(), mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_dice_loss(1.0 - mask, mask)) == pytest.approx(1.0, abs=0.02)
    half = float(soft_dice_loss(0.5 * mask, mask))
    assert 0.2 < half < 0.5
    with pytest.raises(ValueError, match="negative"):
        ProbUNetConfig(kl_weight=-1.0)


def test_kl_of_equal_gaussians_is_zero():
    mu, logvar = torch.randn(3, 6), torch.randn(3, 6)
    np.testing.assert_allclose(kl_gaussians(mu, logvar, mu, logvar).numpy(), 0.0, atol=1e-6)
    assert (kl_gaussians(mu + 1, logvar, mu, logvar) > 0).all()


def test_packed_graders_round_trip():
    masks = (np.random.default_rng(0).random((4, 3, 5, 5)) > 0.5).astype(np.uint8)
    bits = torch.from_numpy(pack_graders(masks))
    for g in range(4):
        got = grader_mask(bits, torch.full((3,), g))
        np.testing.assert_array_equal(got.numpy(), masks[g])
    votes = masks.mean(axis=0)
    np.testing.assert_allclose(grader_variance_t(bits, 4).numpy(), votes * (1 - votes))


def test_loss_has_the_supervised_term_only_when_switched_on():
    images, bits = graded_set(4)
    x = torch.from_numpy(images).unsqueeze(1)
    b = torch.from_numpy(bits)
    y = grader_mask(b, torch.zeros(4, dtype=torch.long)).unsqueeze(1)
    target = grader_variance_t(b, 4).unsqueeze(1)
    torch.manual_seed(0)
    plain = elbo_loss(build_prob_unet(CONFIG), x, y, target)
    assert plain.uncertainty == 0.0 and plain.reconstruction > 0
    supervised = elbo_loss(build_prob_unet(replace(CONFIG, uncertainty_weight=1.0)), x, y, target)
    assert supervised.uncertainty > 0.0
    with pytest.raises(ValueError, match="variance"):
        elbo_loss(build_prob_unet(replace(CONFIG, uncertainty_weight=1.0)), x, y, None)


def test_trains_with_decreasing_loss(trained):
    result, _, _ = trained
    losses = [h["loss"] for h in result.history]
    assert result.steps == 20 and len(losses) == 10
    # Weighted BCE (tumour_weight) starts high and falls slower than plain BCE, whose first
    # steps only learn that most pixels are background.
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3]), losses
    assert all(np.isfinite(losses))


def test_tumour_weight_weights_the_rare_class():
    images, bits = graded_set(4)
    x = torch.from_numpy(images).unsqueeze(1)
    b = torch.from_numpy(bits)
    y = grader_mask(b, torch.zeros(4, dtype=torch.long)).unsqueeze(1)
    assert 0 < float(y.mean()) < 0.5
    parts = {}
    for w in (1.0, 10.0):
        torch.manual_seed(0)
        net = build_prob_unet(replace(CONFIG, tumour_weight=w))
        parts[w] = elbo_loss(net, x, y, generator=torch.Generator().manual_seed(0))
    # Same net and noise: only the tumour pixels' term grows, by less than the weight.
    assert parts[1.0].reconstruction < parts[10.0].reconstruction < 10 * parts[1.0].reconstruction
    with pytest.raises(ValueError, match="weight"):
        ProbUNetConfig(tumour_weight=0.0)


def test_prior_samples_differ(trained):
    result, images, _ = trained
    net = result.network
    x = torch.from_numpy(images[:4]).unsqueeze(1)
    noise = torch.randn(4, 5, net.config.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        probs = net.prior_samples(x, noise)
        again = net.prior_samples(x, noise)
    assert probs.shape == (4, 5, SIZE, SIZE)
    torch.testing.assert_close(probs, again)  # a function of the noise only
    assert float(probs.var(dim=1).max()) > 1e-4  # the samples differ


def test_config_checks_sizes():
    with pytest.raises(ValueError, match="divisible"):
        ProbUNetConfig(image_size=36, channels=(8, 16, 32, 64))


@pytest.mark.slow
def test_quick_preset_with_only_the_prob_unet_group(tmp_path, monkeypatch):
    quick = replace(preset_module.QUICK, groups=("prob_unet",), budget_s=3.0, epochs=2)
    monkeypatch.setitem(preset_module.PRESETS, "quick", quick)
    root = tmp_path / "data"
    for i in range(1, 9):  # the split of test_evaluate_run: both classes among test slices
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=i not in (3, 7), seed=i)
    model = tmp_path / "model"
    make_bundle(model, tiny_config())
    out = tmp_path / "eval"
    assert run_evaluate(root, out, model, preset="quick", device="cpu", seed=0) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["rows"]) == {"prob_unet", "prob_unet_sup"}
    for row in metrics["rows"].values():
        auc = row["detection"]["roc_auc"]
        assert isinstance(auc, float) and 0.0 <= auc <= 1.0
        assert "uncertainty" in row["abstention"]["by"]
        seg = row["segmentation"]
        assert seg["n_slices"] > 0 and seg["ged"] is not None
        assert row["graders"]["source"] == {"train": "generated", "test": "generated"}
    rows = metrics["rows"]
    assert rows["prob_unet_sup"]["config"]["uncertainty_weight"] > 0
    # The supervised row is compared at the plain row's step count, not at its wall time.
    plain, sup = rows["prob_unet"]["training"], rows["prob_unet_sup"]["training"]
    assert 0 < sup["steps"] <= plain["steps"]
    assert sup["steps"] == plain["steps"] or sup["stopped"] == "cap: wall"
    report = (out / "report.md").read_text()
    assert "## Probabilistic U-Net" in report and "0.813" in report
