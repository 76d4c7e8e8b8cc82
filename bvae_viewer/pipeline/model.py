"""The model a case runs through: loading a model folder, and the engine on a device.

The window and the batch reach the network through here (import-linter keeps gui off nn).
"""

from __future__ import annotations

from pathlib import Path

from bvae_viewer.analysis.model_info import ModelInfoError
from bvae_viewer.nn.bundle import Bundle, WeightsError, load_bundle
from bvae_viewer.nn.device import DeviceError
from bvae_viewer.nn.engine import EngineError, InferenceEngine
from bvae_viewer.nn.voices import EngineOptions

__all__ = [
    "MODEL_ERRORS",
    "RUN_ERRORS",
    "Bundle",
    "EngineError",
    "EngineOptions",
    "InferenceEngine",
    "load_model",
    "open_engine",
]

# What loading a model folder can raise; each becomes one sentence for the user.
MODEL_ERRORS = (ModelInfoError, WeightsError, OSError, ValueError)
# What a run can raise that is already one clear sentence (the device, the memory).
RUN_ERRORS = (EngineError, DeviceError)


def load_model(folder: Path, device: str = "cpu") -> Bundle:
    """A model folder's network and model.json (MODEL_ERRORS on a bad folder). On the CPU
    by default: the engine moves it to its device."""
    return load_bundle(Path(folder), device=device)


def open_engine(
    bundle: Bundle, device: str = "auto", samples: int = 5, options: EngineOptions | None = None
) -> InferenceEngine:
    """The model on a device, K samples (and, for the VAE, ensemble members x test-time
    views): one per run, or one for a whole batch."""
    return InferenceEngine(bundle, device=device, samples=samples, options=options)
