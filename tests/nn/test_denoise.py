"""Denoising training: coarse noise inside the brain, and a model that learns to remove it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bvae_viewer.nn.denoise import coarse_noise
from bvae_viewer.nn.train import TrainOptions, train_model
from tests.nn.nnkit import blob_images, tiny_config


def test_coarse_noise_is_blobby_inside_the_brain_only() -> None:
    x = torch.from_numpy(blob_images(4, 128, seed=0)).unsqueeze(1)
    mask = x > 0
    noisy = coarse_noise(x, mask, 0.2, torch.Generator().manual_seed(0))
    assert noisy.shape == x.shape and noisy.min() >= 0 and noisy.max() <= 1
    assert torch.equal(noisy[~mask], x[~mask])  # background untouched
    diff = (noisy - x)[mask]
    assert 0.1 < float(diff.std()) < 0.25
    # Coarse: neighbouring pixels carry nearly the same noise (16x16 grid on 128 px).
    d = (noisy - x)[0, 0]
    inside = mask[0, 0, :, :-1] & mask[0, 0, :, 1:]
    neighbours = np.corrcoef(d[:, :-1][inside].numpy(), d[:, 1:][inside].numpy())[0, 1]
    assert neighbours > 0.9
    again = coarse_noise(x, mask, 0.2, torch.Generator().manual_seed(0))
    assert torch.equal(again, noisy)


@pytest.mark.slow
def test_denoising_training_learns_and_sees_corrupted_inputs(tmp_path) -> None:
    train, val = blob_images(48, 32, seed=0), blob_images(16, 32, seed=1)
    base = dict(epochs=5, batch_size=8, lr=2e-3, warmup_epochs=1, patience=50,
                lr_warmup_steps=0)
    runs = {}
    for std in (0.0, 0.2):
        options = TrainOptions(**base, denoise_std=std)
        runs[std] = train_model(tiny_config(), train, val, tmp_path / str(std), options,
                                progress=False).history
    noisy = runs[0.2]
    assert noisy[-1]["train_loss"] < 0.5 * noisy[0]["train_loss"]  # it learns
    # Same seed, same batches: only the corrupted inputs can make the losses differ.
    assert noisy[0]["train_loss"] != pytest.approx(runs[0.0][0]["train_loss"], rel=1e-6)
