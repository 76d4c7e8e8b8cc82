"""Scoring slices with any method: a map function per batch, reduced to brain means per slice.

A method is a ``MapFn``: slices (B, 1, S, S) and a stable key per slice -> per-pixel maps
(B, S, S): at least ``error``, and ``aleatoric`` / ``epistemic`` where the method has them.
Every sampling method (VAE latent samples, MC dropout, ensemble members, test-time
augmentations) goes through the app's own eq. 10-14 (``maps_from_samples``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict

import numpy as np
import torch

from bvae_viewer.analysis.evaluation.slices import ScoredSlices
from bvae_viewer.analysis.maps import EPS
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.evaluation.data import EvalCase, pool_stack
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.producers import maps_from_samples, sample_reconstructions
from bvae_viewer.nn.producers import slice_noise as latent_noise
from bvae_viewer.nn.tta import View, augment, tta_views, unaugment_grid
from bvae_viewer.nn.validation import run_stack

MapFn = Callable[[torch.Tensor, Sequence[int]], dict[str, torch.Tensor]]


def slice_key(case_id: str, slice_index: int) -> int:
    """A stable integer per slice: its latent noise does not depend on batching or order."""
    return zlib.crc32(f"{case_id}:{int(slice_index)}".encode())


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


def _brain_means(
    maps: dict[str, torch.Tensor], mask: torch.Tensor, x: torch.Tensor
) -> dict[str, np.ndarray]:
    m = mask.float()
    n = m.sum(dim=(1, 2)).clamp_min(1.0)

    def mean(t: torch.Tensor) -> np.ndarray:
        return ((t.float() * m).sum(dim=(1, 2)) / n).cpu().numpy().astype(np.float64)

    error = maps["error"]
    # The error of the best flat image (the slice's brain mean): the yardstick of skill.
    image = x[:, 0].float()
    brain_mean = (image * m).sum(dim=(1, 2)) / n
    out = {
        "recon_error": mean(error),
        "brain_variance": mean((image - brain_mean[:, None, None]) ** 2),
    }
    if "aleatoric" in maps:
        ale, epi = maps["aleatoric"], maps["epistemic"]
        out |= {
            "pixel_score": mean(error / (ale + epi + EPS)),
            "unc_total": mean(ale + epi),
            "unc_aleatoric": mean(ale),
            "unc_epistemic": mean(epi),
            "pixel_score_ale": mean(error / (ale + EPS)),
            "pixel_score_epi": mean(error / (epi + EPS)),
        }
    return out


@torch.inference_mode()
def score_cases(
    map_fn: MapFn, cases: Sequence[EvalCase], size: int, device: torch.device, batch: int = 16
) -> tuple[ScoredSlices, float]:
    """Every slice of the cases at ``size`` px; returns the slices and seconds per slice."""
    parts, seconds, n = [], 0.0, 0
    for case in cases:
        images, masks = case.at_size(size)
        keys = [slice_key(case.case_id, k) for k in case.slice_index]
        values: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(images), batch):
            t0 = time.perf_counter()
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))
            x = x.to(device).unsqueeze(1)
            mask = torch.from_numpy(masks[start : start + batch]).to(device)
            means = _brain_means(map_fn(x, keys[start : start + batch]), mask, x)
            seconds += time.perf_counter() - t0
            for name, v in means.items():
                values.setdefault(name, []).append(v)
        n += len(images)
        parts.append(
            ScoredSlices.for_case(
                case.case_id,
                case.slice_index,
                case.labels,
                {k: np.concatenate(v) for k, v in values.items()},
            )
        )
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
