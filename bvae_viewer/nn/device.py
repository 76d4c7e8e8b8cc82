"""Which device runs the network: CUDA when there is one, else the CPU."""

from __future__ import annotations

import torch


class DeviceError(Exception):
    """The requested device cannot be used."""


def choose_device(requested: str | torch.device = "auto") -> torch.device:
    """'auto' -> CUDA if available else CPU; 'cuda' without a GPU is an error."""
    if isinstance(requested, torch.device):
        requested = str(requested)
    name = requested.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "A CUDA graphics card was requested but none is available; use --device cpu."
            )
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"There is no graphics card {device}.")
        return device
    raise DeviceError(f"Unknown device '{requested}': choose auto, cpu or cuda.")


def device_label(device: torch.device) -> str:
    """'CPU (2 threads)' or 'CUDA: <gpu name>'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def device_kind(device: torch.device) -> str:
    """The compute stack the result cache keys on, e.g. 'cpu AVX2, 2 threads, torch 2.13.0'.

    Results are bit-for-bit repeatable only on the same stack: CUDA kernels (cuDNN's choice
    of algorithm, TF32, reduction order) round differently from the CPU's and from another
    GPU model's, and even the CPU's thread count changes the order of sums (measured on the
    bundled model: up to 9e-7 relative between 1 and 2 threads, a changed digit in
    slices.csv). A hit must give what a fresh run here would, so all of it is in the key;
    a machine keeps its stack from run to run, so the hits are not lost in practice.
    """
    stack = f"torch {torch.__version__}"
    if device.type == "cuda":
        return (
            f"cuda {torch.cuda.get_device_name(device)}, {stack}, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, TF32 {torch.backends.cuda.matmul.allow_tf32}"
            f"/{torch.backends.cudnn.allow_tf32}"
        )
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{device.type} {capability}, {torch.get_num_threads()} threads, {stack}"
