"""Scoring slices with any method: a map function per batch, each slice then scored as the
app scores it (its SliceScores, analysis.evaluation.slices.score_maps).

A method is a ``MapFn``: slices (B, 1, S, S) and a stable key per slice -> per-pixel maps
(B, S, S): at least ``error``, and ``aleatoric`` / ``epistemic`` where the method has them.
Every sampling method (VAE latent samples, MC dropout, ensemble members, test-time
augmentations) goes through the app's own eq. 10-14 (``maps_from_samples``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict

import numpy as np
import torch

from bvae_viewer.analysis.evaluation.data import EvalCase, pool_stack
from bvae_viewer.analysis.evaluation.slices import (
    ScoredSlices,
    score_maps,
    scored_case,
    slice_key,
)
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.producers import maps_from_samples, sample_reconstructions
from bvae_viewer.nn.producers import slice_noise as latent_noise
from bvae_viewer.nn.tta import View, augment, tta_views, unaugment_grid
from bvae_viewer.nn.validation import run_stack

MapFn = Callable[[torch.Tensor, Sequence[int]], dict[str, torch.Tensor]]


def _prepare(network: BayesianVAE, device: torch.device) -> BayesianVAE:
    network = network.to(device).eval()
    if network.config.channels_last:
        network = network.to(memory_format=torch.channels_last)
    return network


def _seed_dropout(network: BayesianVAE, keys: Sequence[int]) -> None:
    """MC dropout: dropout stays on; its masks come from the global RNG, seeded per batch."""
    if network.config.dropout > 0:
        for module in network.decoder.modules():
            if isinstance(module, torch.nn.Dropout2d):
                module.train()
        torch.manual_seed(int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0]))


def vae_maps(network: BayesianVAE, samples: int, seed: int, device: torch.device) -> MapFn:
    """K latent samples per slice (K dropout masks too, when the decoder has dropout)."""
    network = _prepare(network, device)
    latent = network.config.latent_dim

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        _seed_dropout(network, keys)
        noise = torch.stack([latent_noise(seed, k, samples, latent) for k in keys]).to(x.device)
        means, logvars, _ = sample_reconstructions(network, x, noise)
        return maps_from_samples(x[:, 0], means, logvars)

    return run


def _decode_mean(network: BayesianVAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One deterministic reconstruction, z = mu: (B, S, S) mean and log-variance."""
    mu, _ = network.encoder(x)
    rec = network.decoder(mu)
    return rec.mean[:, 0], rec.logvar[:, 0]


def mean_decoding_maps(network: BayesianVAE, device: torch.device) -> MapFn:
    """No epistemic sampling: K=1 with z = mu, so U_epi = 0 and U_tot = U_ale."""
    network = _prepare(network, device)

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        mean, logvar = _decode_mean(network, x)
        return maps_from_samples(x[:, 0], mean.unsqueeze(1), logvar.unsqueeze(1))

    return run


def ensemble_maps(networks: Sequence[BayesianVAE], device: torch.device) -> MapFn:
    """Deep ensemble: each member one deterministic pass; the members are the samples."""
    nets = [_prepare(n, device) for n in networks]

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        outs = [_decode_mean(n, x) for n in nets]
        means = torch.stack([m for m, _ in outs], dim=1)
        logvars = torch.stack([v for _, v in outs], dim=1)
        return maps_from_samples(x[:, 0], means, logvars)

    return run


def unaugment(
    mean: torch.Tensor, logvar: torch.Tensor, view: View
) -> tuple[torch.Tensor, torch.Tensor]:
    """A view's reconstruction back on the original grid and intensity scale."""
    scale = view[1]
    if scale != 1.0:
        mean = mean / scale
        logvar = logvar - 2.0 * float(np.log(scale))  # sigma scales with the intensity
    return unaugment_grid(mean, view), unaugment_grid(logvar, view)


def tta_maps(network: BayesianVAE, views: int, device: torch.device) -> MapFn:
    """Test-time augmentation: each view reconstructed, mapped back; the views are samples."""
    network = _prepare(network, device)
    chosen = tta_views(views, network.config.image_size)

    def run(x: torch.Tensor, keys: Sequence[int]) -> dict[str, torch.Tensor]:
        outs = [unaugment(*_decode_mean(network, augment(x, v)), v) for v in chosen]
        means = torch.stack([m for m, _ in outs], dim=1)
        logvars = torch.stack([v for _, v in outs], dim=1)
        return maps_from_samples(x[:, 0], means, logvars)

    return run


@torch.inference_mode()
def score_cases(
    map_fn: MapFn, cases: Sequence[EvalCase], size: int, device: torch.device, batch: int = 16
) -> tuple[ScoredSlices, float]:
    """Every slice of the cases at ``size`` px, scored as the app scores a slice
    (analysis.evaluation.slices.score_maps); returns the slices and seconds per slice."""
    parts, seconds, n = [], 0.0, 0
    for case in cases:
        images, masks = case.at_size(size)
        fractions = masks.reshape(len(masks), -1).mean(axis=1)
        keys = [slice_key(case.case_id, k) for k in case.slice_index]
        scored = []
        for start in range(0, len(images), batch):
            t0 = time.perf_counter()
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))
            maps = map_fn(x.to(device).unsqueeze(1), keys[start : start + batch])
            maps = {k: v.float().cpu().numpy() for k, v in maps.items()}
            for i in range(len(x)):
                j = start + i
                one = {k: v[i] for k, v in maps.items()}
                scored.append(
                    score_maps(one, images[j], masks[j], case.slice_index[j], fractions[j])
                )
            seconds += time.perf_counter() - t0
        n += len(images)
        parts.append(scored_case(case.case_id, case.labels, scored))
    return ScoredSlices.concat(parts), seconds / max(n, 1)


def engine_seconds_per_volume(
    network: BayesianVAE, stacks: Sequence[SliceStack], samples: int, device: torch.device
) -> float | None:
    """Whole volumes through the app's InferenceEngine (what a user waits for)."""
    if not stacks:
        return None
    config = network.config
    info = ModelInfo(config.name, asdict(config), "", "")
    engine = InferenceEngine(Bundle(network, info, config), device=device, samples=samples)
    runs = [run_stack(engine, pool_stack(s, config.image_size)) for s in stacks]
    return float(np.mean([r.seconds for r in runs]))
