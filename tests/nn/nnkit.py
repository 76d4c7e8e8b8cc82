"""Small networks, images and stacks built in code for the nn tests (nothing shipped)."""

from __future__ import annotations

import numpy as np
import torch

from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack
from bvae_viewer.nn.bundle import load_bundle, save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.network import build_network

torch.set_num_threads(2)


def tiny_config(**changes) -> ModelConfig:
    """The paper layout (attention after enc 2/4, dec 1/3) at 32 px with few channels."""
    base = dict(name="tiny", image_size=32, latent_dim=16, channels=(8, 16, 16, 32), heads=4)
    return ModelConfig(**(base | changes))


def blob_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth brain-like ellipses with a little jitter, background exactly 0."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
    out = np.zeros((n, size, size), np.float32)
    for i in range(n):
        cx, cy = 0.03 * rng.standard_normal(2)
        r = np.hypot((xx - cx) / 0.36, (yy - cy) / 0.44)
        out[i] = np.where(r < 1, 0.55 + 0.2 * np.cos(3 * r + rng.uniform(0, 0.3)), 0)
    return out


def make_stack(n: int = 12, size: int = 32, empty: tuple[int, ...] = (0, 1, 11)) -> SliceStack:
    images = blob_images(n, size, seed=3)
    images[list(empty)] = 0.0
    masks = images > 0
    fraction = masks.reshape(n, -1).mean(axis=1).astype(np.float32)
    grid = InPlaneGrid(0.0, 1.0, 0.0, 1.0, (size, size))
    return SliceStack(images, masks, np.arange(100, 100 + n), fraction, grid, 1.0)


def make_bundle(model_dir, config: ModelConfig, seed: int = 0, alpha: float = 0.3):
    """A saved-and-loaded bundle of a freshly initialised network (attention gates opened)."""
    torch.manual_seed(seed)
    net = build_network(config)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("gate"):
                p.fill_(0.5)  # a fresh gate is 0, which would hide the attention path
    info = ModelInfo(config.name, {}, "", "", calibration=Calibration(alpha=alpha))
    save_bundle(net, info, model_dir)
    return load_bundle(model_dir)


def tiny_rd_config(**changes):
    """Reverse Distillation at 32 px, 4 channels at S/2 (dropout on, as trained)."""
    from bvae_viewer.nn.reverse_distillation import RDConfig

    return RDConfig(**({"image_size": 32, "width": 4, "dropout": 0.2} | changes))


def tiny_prob_unet_config(**changes):
    """A two-level Probabilistic U-Net at 32 px."""
    from bvae_viewer.nn.prob_unet import ProbUNetConfig

    base = {"image_size": 32, "channels": (4, 8), "latent_dim": 3, "head_channels": 8}
    return ProbUNetConfig(**(base | changes))


def make_method_bundle(model_dir, config, seed: int = 0):
    """A saved-and-loaded bundle of a fresh network of the config's method (nn.registry)."""
    from bvae_viewer.nn.prob_unet import ProbUNetConfig, build_prob_unet
    from bvae_viewer.nn.registry import RDNetwork

    torch.manual_seed(seed)
    net = build_prob_unet(config) if isinstance(config, ProbUNetConfig) else RDNetwork(config)
    if isinstance(config, ProbUNetConfig):
        with torch.no_grad():  # a fresh prior is N(0, I)-like; widen it so samples differ
            net.prior.head.weight.normal_(std=0.3)
    info = ModelInfo(config.name, {}, "", "", calibration=Calibration(alpha=0.5))
    save_bundle(net, info, model_dir)
    return load_bundle(model_dir)
