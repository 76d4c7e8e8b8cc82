import math

import pytest
import torch

from bvae_viewer.nn.device import DeviceError, choose_device, device_label
from bvae_viewer.nn.losses import (
    BACKGROUND_VARIANCE,
    gaussian_nll,
    kl_to_standard_normal,
    vae_loss,
)
from bvae_viewer.nn.network import VAEOutput


def test_gaussian_nll_by_hand():
    x = torch.tensor([0.5])
    nll = gaussian_nll(x, torch.tensor([0.3]), torch.tensor([math.log(0.04)]))
    assert float(nll) == pytest.approx(0.5 * math.log(0.04) + 0.04 / (2 * 0.04))


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zero = torch.zeros(2, 8)
    assert torch.allclose(kl_to_standard_normal(zero, zero), torch.zeros(2))
    mu = torch.full((1, 8), 0.5)
    assert float(kl_to_standard_normal(mu, zero[:1])) == pytest.approx(8 * 0.5 * 0.25)


def _out(mean, logvar, b=2, latent=4):
    return VAEOutput(mean, logvar, torch.ones(b, latent), torch.zeros(b, latent))


def test_loss_sums_pixels_and_averages_batch():
    x = torch.zeros(2, 1, 2, 2)
    mean = torch.full_like(x, 0.1)
    logvar = torch.zeros_like(x)
    terms = vae_loss(_out(mean, logvar), x, None, beta=0.1)
    per_image = 4 * (0.01 / 2)
    assert float(terms.nll) == pytest.approx(per_image)
    assert float(terms.kl) == pytest.approx(4 * 0.5)
    assert float(terms.total) == pytest.approx(per_image + 0.1 * 2.0)


def test_background_pixels_get_a_fixed_variance():
    x = torch.zeros(1, 1, 1, 2)
    mean = torch.full_like(x, 0.2)
    logvar = torch.full_like(x, -20.0)  # would make the NLL explode on the background
    mask = torch.tensor([[[[True, False]]]])
    terms = vae_loss(_out(mean, logvar, b=1), x, mask, beta=0.0)
    brain = 0.5 * -20.0 + 0.04 * 0.5 * math.exp(20.0)
    background = 0.04 / (2 * BACKGROUND_VARIANCE)
    assert float(terms.nll) == pytest.approx(brain + background, rel=1e-5)


def test_deterministic_loss_has_no_kl():
    x = torch.zeros(2, 1, 2, 2)
    terms = vae_loss(_out(x, x), x, None, beta=1.0, deterministic=True)
    assert float(terms.kl) == 0.0


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError, match="Unknown device"):
        choose_device("tpu")
    assert device_label(torch.device("cpu")) == f"CPU ({torch.get_num_threads()} threads)"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="none is available"):
        choose_device("cuda")
