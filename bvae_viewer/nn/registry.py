"""Which network each method (analysis.methods) is, and how its config is read back.

A model folder names its method in model.json; load_bundle and save_bundle ask here for the
config class and the module to build, so adding a method means one entry, not a new loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from torch import nn

from bvae_viewer.analysis.methods import BVAE, PROB_UNET, REVERSE_DISTILLATION, method_info
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.network import BayesianVAE, build_network
from bvae_viewer.nn.prob_unet import ProbUNet, ProbUNetConfig, build_prob_unet
from bvae_viewer.nn.reverse_distillation import RDConfig, Student, Teacher


class RDNetwork(nn.Module):
    """Reverse Distillation's frozen teacher and trained student in one module, so one
    weights file (and one sha256) holds both."""

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        self.config = config
        self.teacher = Teacher(config)
        self.student = Student(config)


@dataclass(frozen=True)
class NetworkSpec:
    """A method's network: its config class, builder and module class."""

    method: str
    config_type: type
    build: Callable[[Any], nn.Module]
    module_type: type[nn.Module]


SPECS: dict[str, NetworkSpec] = {
    BVAE: NetworkSpec(BVAE, ModelConfig, build_network, BayesianVAE),
    REVERSE_DISTILLATION: NetworkSpec(REVERSE_DISTILLATION, RDConfig, RDNetwork, RDNetwork),
    PROB_UNET: NetworkSpec(PROB_UNET, ProbUNetConfig, build_prob_unet, ProbUNet),
}


def network_spec(method: str) -> NetworkSpec:
    """The spec of a method; analysis.methods.UnknownMethodError (one sentence) if unknown."""
    method_info(method)  # raises for a method this version does not know
    return SPECS[method]


def spec_of_network(network: nn.Module) -> NetworkSpec:
    """The spec whose module class ``network`` is (save_bundle records the method from it)."""
    for spec in SPECS.values():
        if isinstance(network, spec.module_type):
            return spec
    raise TypeError(f"{type(network).__name__} is not a network of any known method")


def config_from_dict(method: str, raw: dict[str, Any]) -> Any:
    """The method's config from model.json: unknown keys are an error, missing ones default.

    ValueError / TypeError when the settings do not make a valid config.
    """
    config_type = network_spec(method).config_type
    if config_type is ModelConfig:
        return ModelConfig.from_dict(raw)
    known = {f.name: f for f in fields(config_type)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"unknown model settings: {', '.join(unknown)}")
    # JSON hands tuples back as lists: the frozen configs compare and hash as tuples.
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return config_type(**values)


def config_of(network: nn.Module) -> Any | None:
    """The dataclass config a network carries, if any."""
    config = getattr(network, "config", None)
    return config if is_dataclass(config) else None
