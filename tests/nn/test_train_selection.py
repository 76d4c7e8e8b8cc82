"""beta-NLL weighting, selecting the kept weights on skill, and fine-tuning's starting bar."""

import math

import numpy as np
import pytest
import torch

from bvae_viewer.nn.losses import gaussian_nll, vae_loss, variance_weights
from bvae_viewer.nn.network import VAEOutput
from bvae_viewer.nn.train import TrainOptions, train_model
from tests.nn.nnkit import blob_images, tiny_config


def _options(**changes) -> TrainOptions:
    base = dict(epochs=2, batch_size=8, lr=2e-3, warmup_epochs=1, patience=50, seed=0,
                lr_warmup_steps=0)
    return TrainOptions(**(base | changes))


def _output(mean: torch.Tensor, logvar: torch.Tensor) -> VAEOutput:
    z = torch.zeros(mean.shape[0], 4)
    return VAEOutput(mean, logvar, z, z)


def test_variance_weights_have_mean_one_on_the_brain_and_follow_sigma():
    logvar = torch.tensor([[[[-6.0, -2.0], [-4.0, 5.0]]]])
    mask = torch.tensor([[[[True, True], [True, False]]]])
    w = variance_weights(logvar, mask, 0.5)
    assert float(w[mask].mean()) == pytest.approx(1.0)
    # sigma^(2 * 0.5) = e^(logvar / 2): a pixel 4 nats more variable weighs e^2 more.
    assert float(w[0, 0, 0, 1] / w[0, 0, 0, 0]) == pytest.approx(math.exp(2.0))


def test_power_one_gives_the_mean_a_plain_squared_error_gradient():
    """Under the plain NLL a high-variance pixel barely moves the mean; under power 1 its
    error pulls as hard as anywhere else (the fine-tune that collapsed lacked this)."""
    x = torch.full((1, 1, 1, 2), 0.5)
    logvar = torch.tensor([[[[-6.0, 0.0]]]])
    grads = {}
    for power in (0.0, 1.0):
        mean = torch.full((1, 1, 1, 2), 0.3, requires_grad=True)
        vae_loss(_output(mean, logvar), x, None, beta=0.0, deterministic=True,
                 nll_power=power).total.backward()
        g = mean.grad.flatten()
        grads[power] = float(g[1] / g[0])  # high-variance pixel over low-variance pixel
    assert grads[0.0] == pytest.approx(math.exp(-6.0), rel=1e-4)
    assert grads[1.0] == pytest.approx(1.0, rel=1e-4)


def test_weighting_leaves_the_value_of_a_uniform_variance_unchanged():
    x, mean = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    logvar = torch.full_like(x, -3.0)
    plain = vae_loss(_output(mean, logvar), x, None, 0.0, True).total
    weighted = vae_loss(_output(mean, logvar), x, None, 0.0, True, nll_power=0.5).total
    assert float(weighted) == pytest.approx(float(plain), rel=1e-5)
    assert float(gaussian_nll(x, mean, logvar).sum() / 2) == pytest.approx(float(plain))


@pytest.mark.slow
def test_select_on_skill_keeps_the_epoch_with_the_best_skill(tmp_path):
    train, val = blob_images(32, 32, seed=0), blob_images(8, 32, seed=1)
    result = train_model(tiny_config(), train, val, tmp_path,
                         _options(epochs=3, select_on="skill", nll_power=0.5), progress=False)
    skills = [h["val_skill"] for h in result.history]
    best = int(np.nanargmax(skills))
    assert result.best_val_loss == pytest.approx(result.history[best]["val_loss"])


@pytest.mark.slow
def test_fine_tuning_returns_the_starting_weights_when_no_epoch_beats_them(tmp_path):
    config = tiny_config()
    train, val = blob_images(32, 32, seed=0), blob_images(8, 32, seed=1)
    trained = train_model(config, train, val, tmp_path / "a", _options(epochs=4),
                          progress=False)
    start = trained.best_state.state_dict()
    # A learning rate this large wrecks the weights in one epoch: none may be kept.
    again = train_model(config, train, val, tmp_path / "b", _options(epochs=1, lr=5.0),
                        progress=False, initial_state=start)
    assert any("starting weights" in n for n in again.notes)
    assert any("returned unchanged" in n for n in again.notes)
    kept = again.best_state.state_dict()
    assert all(torch.equal(kept[k].float(), start[k].float()) for k in start)
    assert again.best_val_loss == pytest.approx(trained.best_val_loss, rel=1e-5)
