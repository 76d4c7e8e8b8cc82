"""Several voices on one slice: a deep ensemble of Bayesian VAEs (members trained apart) and
test-time augmentation (geometric views), as engine options of the VAE.

Every voice (member x view) draws the same K latent samples; all voices' samples are pooled,
so the epistemic map is the variance of the reconstruction over members, views and latent
samples: where the members disagree, it is high (Lakshminarayanan et al. 2017). Each voice
also scores the slice on its own (its own mean reconstruction and uncertainty), and the
spread of those scores is the slice-level disagreement the review order can use.

Only geometric views (flips, ~1 mm shifts) are used: they are exactly invertible, while an
intensity-scaled view would change what a sigmoid decoder can reconstruct.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from bvae_viewer.analysis.maps import anomaly_score, peak_pixel_score
from bvae_viewer.analysis.model_info import ModelInfo, write_model_info
from bvae_viewer.nn.network import BayesianVAE
from bvae_viewer.nn.producers import (
    HALF_LOG_2PI,
    Maps,
    _noise,
    maps_from_samples,
    sample_reconstructions,
)
from bvae_viewer.nn.tta import View, augment, tta_views, unaugment_grid


class VoicesError(ValueError):
    """The engine options ask for voices the model does not have (said in one sentence)."""


@dataclass(frozen=True)
class EngineOptions:
    """How many voices analyse a slice: ensemble members x test-time views."""

    members: int = 1  # the model's own network first, then its shipped members
    views: int = 1  # geometric test-time views per member (1: the slice as it is)

    @property
    def voices(self) -> int:
        return self.members * self.views

    @property
    def label(self) -> str:
        parts = [f"{self.members} members" if self.members > 1 else "",
                 f"{self.views} views" if self.views > 1 else ""]
        return ", ".join(p for p in parts if p) or "single model"


def geometric_views(n: int, size: int) -> list[View]:
    """The first ``n`` of nn.tta's views that only flip and shift (identity first)."""
    views = [v for v in tta_views(8, size) if v[1] == 1.0]
    if not 1 <= n <= len(views):
        raise VoicesError(f"Test-time augmentation has 1 to {len(views)} views, not {n}.")
    return views[:n]


class VoicesMaps:
    """The VAE's maps pooled over members and views, plus each voice's own maps."""

    def __init__(
        self, networks: Sequence[BayesianVAE], views: Sequence[View], samples: int, seed: int
    ) -> None:
        self.networks, self.views = list(networks), list(views)
        self.samples, self.seed = samples, seed
        self.config = self.networks[0].config
        # The result cache keys a run by the main weights' checksum only: members' weights
        # could change beside it, so their pooled maps are never cached.
        self.cacheable = len(self.networks) == 1

    def to(self, device: torch.device) -> None:
        for network in self.networks:
            network.to(device).eval()
            if self.config.channels_last:
                network.to(memory_format=torch.channels_last)

    def __call__(self, x: torch.Tensor, positions: Sequence[int]) -> tuple[Maps, torch.Tensor]:
        noise = _noise(self.seed, positions, self.samples, self.config.latent_dim).to(x.device)
        means, logvars, voice_error, voice_pixel = [], [], [], []
        latent_nll = None
        for network in self.networks:
            for view in self.views:
                m, lv, mu = sample_reconstructions(network, augment(x, view), noise)
                m, lv = unaugment_grid(m, view), unaugment_grid(lv, view)
                if latent_nll is None:  # the model's own network on the slice as it is
                    latent_nll = (0.5 * mu.float() ** 2 + HALF_LOG_2PI).mean(dim=1)
                own = maps_from_samples(x[:, 0], m, lv)
                voice_error.append(own["error"])
                voice_pixel.append(own["pixel_score"])
                means.append(m)
                logvars.append(lv)
        maps = maps_from_samples(x[:, 0], torch.cat(means, 1), torch.cat(logvars, 1))
        maps["voice_error"] = torch.stack(voice_error, 1)
        maps["voice_pixel_score"] = torch.stack(voice_pixel, 1)
        return maps, latent_nll


def voice_scores(
    error: np.ndarray, pixel_score: np.ndarray, mask: np.ndarray, alpha: float, reduction: str
) -> np.ndarray:
    """Each voice's own anomaly score (eq. 15, the model's reduction): (V, S, S) -> (V,)."""
    return np.array([
        anomaly_score(float(e[mask].mean()), float(p[mask].mean()),
                      peak_pixel_score(p, mask) if reduction == "peak" else float("nan"),
                      alpha, reduction)
        for e, p in zip(error, pixel_score, strict=True)
    ])


def score_spread(scores: np.ndarray) -> float:
    """How much the voices disagree on a slice: the SD of their log scores (NaN for one)."""
    scores = np.asarray(scores, dtype=float)
    if scores.size < 2 or not (scores > 0).all():
        return float("nan")
    return float(np.log(scores).std())


def assemble_ensemble(main: Path, members: Sequence[Path], out: Path) -> ModelInfo:
    """A model folder whose model.json lists ``members`` (each copied into out/members/):
    the main model's calibration stays, so thresholds are those of the main network until
    the ensemble is recalibrated."""
    from bvae_viewer.nn.bundle import load_bundle  # the bundle module imports this one

    main_bundle = load_bundle(main)
    out = Path(out)
    if out.exists():
        raise VoicesError(f"{out} exists already; choose a new folder for the ensemble.")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(main, tmp)
    names = []
    for i, member in enumerate(members, start=1):
        name = f"members/{i}"
        shutil.copytree(member, tmp / name)
        names.append(name)
    info = replace(main_bundle.info, members=tuple(names))
    write_model_info(tmp, info)
    load_bundle(tmp)  # every member loads and fits, or nothing is left behind
    tmp.replace(out)
    return info
