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
