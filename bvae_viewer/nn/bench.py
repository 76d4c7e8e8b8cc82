"""`bvae-viewer bench`: how fast the model analyses a volume on this machine, and why."""

from __future__ import annotations

import copy
import platform
import resource
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.device import choose_device
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.losses import vae_loss
from bvae_viewer.nn.network import build_network
from bvae_viewer.nn.voices import EngineOptions


def synthetic_stack(
    n_slices: int = 155, brain_slices: int | None = None, size: int = 128, seed: int = 0
) -> SliceStack:
    """A BraTS-like stack: the middle slices hold a textured brain-like ellipse, the rest empty."""
    brain = round(n_slices * 2 / 3) if brain_slices is None else min(brain_slices, n_slices)
    first = (n_slices - brain) // 2
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
    images = np.zeros((n_slices, size, size), np.float32)
    for k in range(first, first + brain):
        t = (k - first + 0.5) / brain  # 0..1 through the brain, widest in the middle
        scale = 0.35 + 0.65 * np.sin(np.pi * t)
        r = np.hypot(xx / (0.36 * scale), yy / (0.44 * scale))
        inside = r < 1.0
        tissue = 0.55 + 0.15 * np.cos(9 * r + 3 * t) + 0.03 * rng.standard_normal((size, size))
        images[k] = np.where(inside, np.clip(tissue, 0, 1), 0)
    masks = images > 0
    fraction = masks.reshape(n_slices, -1).mean(axis=1).astype(np.float32)
    grid = InPlaneGrid(0.0, 1.0, 0.0, 1.0, (size, size))
    return SliceStack(images, masks, np.arange(n_slices), fraction, grid, 1.0)


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Measured fp32 matmul rate of this device: the practical peak for the model."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up (thread pool, cuBLAS handles)
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _sig(value: float) -> float:
    """Three significant digits: enough to read, and tiny test models do not round to 0."""
    return float(f"{value:.3g}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def slice_flops(engine: InferenceEngine) -> int:
    """FLOPs of one brain slice through the engine's method (for the VAE: the encoder once
    plus K decoder passes)."""
    size = engine.bundle.image_size
    x = torch.rand(1, 1, size, size, device=engine.device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        engine.producer(x, [0])
    return int(counter.get_total_flops())


def peak_memory_mib(device: torch.device) -> dict[str, float]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes vs KiB
    out = {"peak_rss_mib": round(rss_mib, 1)}
    if device.type == "cuda":
        out["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def training_throughput(
    config: ModelConfig, device: str = "auto", batch_size: int = 32, steps: int = 3
) -> float:
    """Slices per second of full training steps (forward, loss, backward, Adam) after a warm-up."""
    dev = choose_device(device)
    net = build_network(config).to(dev).train()
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = synthetic_stack(batch_size + 4, batch_size, config.image_size).images[2 : 2 + batch_size]
    xb = torch.from_numpy(x).unsqueeze(1).to(dev)
    mb = xb > 0

    def step() -> None:
        terms = vae_loss(net(xb), xb, mb, 0.1, config.deterministic)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()

    step()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    return batch_size * steps / (time.perf_counter() - t0)


def untrained_bundle(config: ModelConfig, like: Bundle) -> Bundle:
    """A randomly initialised network of another config: its speed does not need weights."""
    network = build_network(config).eval()
    if config.channels_last:
        network = network.to(memory_format=torch.channels_last)
    return Bundle(network=network, info=like.info, config=config)


def compare_configs(
    bundle: Bundle,
    others: dict[str, ModelConfig],
    device: str = "auto",
    samples: int = 5,
    n_slices: int = 155,
    brain_slices: int | None = None,
) -> dict[str, Any]:
    """Volume time of other configurations on the same stack, in the same run, as ratios."""
    ours = run_bench(bundle, device, samples, n_slices, brain_slices)
    out: dict[str, Any] = {}
    for name, config in others.items():
        theirs = run_bench(untrained_bundle(config, bundle), device, samples, n_slices,
                           brain_slices)
        out[name] = {
            "volume_seconds": theirs["volume_seconds"],
            "first_slice_seconds": theirs["first_slice_seconds"],
            "model_gflop_per_volume": theirs["model_gflop_per_volume"],
            "slower_than_bundled": _sig(theirs["volume_seconds"] / ours["volume_seconds"]),
        }
    return {"bundled": ours, "compared": out}


def run_bench(
    bundle: Bundle,
    device: str = "auto",
    samples: int = 5,
    n_slices: int = 155,
    brain_slices: int | None = None,
    training: bool = False,
    frontend: bool = False,
    options: EngineOptions | None = None,
) -> dict[str, Any]:
    """Time one synthetic volume through the engine; put the figures beside the machine's peak.
    frontend: also time the clinical front end on a head with skull (issue 17)."""
    dev = choose_device(device)
    stack = synthetic_stack(n_slices, brain_slices, bundle.image_size)
    n_brain = int(stack.has_brain.sum())
    middle = n_slices // 2
    engine = InferenceEngine(copy.deepcopy(bundle), device=dev, samples=samples, options=options)
    # Warm-up: one batch, so one-time costs (thread pools, kernels) are not timed.
    for _ in zip(range(engine.batch_size + 1), engine.run(stack, order=[middle]), strict=False):
        pass
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    first = None
    for _ in engine.run(stack, order=[middle]):
        if first is None:  # the middle slice, which was asked for first
            first = time.perf_counter() - t0
    _sync(dev)
    seconds = time.perf_counter() - t0
    flops = slice_flops(engine) * n_brain
    peak = matmul_gflops(engine.device)
    achieved = flops / seconds / 1e9
    figures: dict[str, Any] = {
        "stack": (
            f"synthetic: {n_slices} slices of {stack.images.shape[1]}x{stack.images.shape[2]}, "
            f"{n_brain} holding a brain-like ellipse (the middle), the rest empty"
        ),
        "model": bundle.info.name,
        "config": bundle.config.name,
        "method": bundle.method,
        "samples": samples,
        "engine_options": engine.options.label,
        "volume_seconds": round(seconds, 3),
        "first_slice_seconds": round(first or 0.0, 4),
        "slices_per_second": round(n_slices / seconds, 1),
        "brain_slices_per_second": round(n_brain / seconds, 1),
        "device": engine.device_label,
        "device_notes": list(engine.notes),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "model_gflop_per_volume": _sig(flops / 1e9),
        "model_gflops_achieved": _sig(achieved),
        "matmul_gflops_fp32": _sig(peak),
        "fraction_of_matmul_peak": _sig(achieved / peak),
    }
    if training:
        figures["training_slices_per_second_batch32"] = round(
            training_throughput(bundle.config, str(engine.device)), 1
        )
    figures |= peak_memory_mib(engine.device)
    if frontend:
        from bvae_viewer.data.frontend.bench_head import time_front_end

        figures.update(time_front_end())
    return figures


# The engine options timed beside the single model: members x views, and MC dropout.
OPTION_GRID = {"ensemble_3": EngineOptions(members=3), "tta_3_views": EngineOptions(views=3),
               "ensemble_3_x_tta_2": EngineOptions(members=3, views=2)}


def with_stand_in_members(bundle: Bundle, n: int) -> Bundle:
    """The bundle with ``n`` members; copies of its network where it ships fewer. Timing only:
    a member costs the same whatever its weights."""
    shipped = list(bundle.members)
    while len(shipped) < n:
        shipped.append(copy.deepcopy(bundle.network))
    return Bundle(bundle.network, bundle.info, bundle.config, members=tuple(shipped[:n]))


def compare_options(
    bundle: Bundle, device: str = "auto", samples: int = 5, n_slices: int = 155
) -> dict[str, Any]:
    """Volume time of each engine option (and of MC dropout) against the single model, from
    one run on the same stack, as ratios."""
    single = run_bench(bundle, device, samples, n_slices)
    out: dict[str, Any] = {}
    runs = {name: (with_stand_in_members(bundle, o.members - 1), o)
            for name, o in OPTION_GRID.items()}
    dropout = replace(bundle.config, dropout=0.1)
    runs[f"mc_dropout_{samples}_passes"] = (untrained_bundle(dropout, bundle), None)
    for name, (variant, options) in runs.items():
        figures = run_bench(variant, device, samples, n_slices, options=options)
        out[name] = {
            "volume_seconds": figures["volume_seconds"],
            "first_slice_seconds": figures["first_slice_seconds"],
            "slower_than_single": _sig(figures["volume_seconds"] / single["volume_seconds"]),
        }
    return {"single": single, "options": out}
