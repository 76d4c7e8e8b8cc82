"""A trained model on disk: fp16 safetensors weights + model.json, checked by sha256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from bvae_viewer.analysis.methods import UnknownMethodError
from bvae_viewer.analysis.model_info import (
    ModelInfo,
    ModelInfoError,
    read_model_info,
    write_model_info,
)
from bvae_viewer.nn.device import choose_device
from bvae_viewer.nn.registry import config_from_dict, config_of, network_spec, spec_of_network

WEIGHTS_FILE = "weights.safetensors"


class WeightsError(Exception):
    """The weights file is missing, damaged or does not fit the described network."""


@dataclass
class Bundle:
    """A loaded model: the network (eval mode, fp32), its description and its config.

    ``network`` and ``config`` follow ``info.method`` (nn.registry): a BayesianVAE and its
    ModelConfig, an RDNetwork and its RDConfig, or a ProbUNet and its ProbUNetConfig.
    """

    network: nn.Module
    info: ModelInfo
    config: Any
    # The ensemble members model.json lists (nn.voices), loaded and checked like the network.
    members: tuple[nn.Module, ...] = ()

    @property
    def method(self) -> str:
        return self.info.method

    @property
    def image_size(self) -> int:
        """Side of the square slices the network takes (every method's config has it)."""
        return int(self.config.image_size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _config_of(network: nn.Module, method: str, info: ModelInfo) -> Any:
    config = config_of(network)
    return config if config is not None else config_from_dict(method, info.config)


def save_bundle(network: nn.Module, info: ModelInfo, model_dir: Path) -> ModelInfo:
    """Write weights.safetensors (fp16) and model.json with its sha256; returns the info."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    network = getattr(network, "module", network)  # a DDP wrapper
    # The method is what the network is, whatever the caller's info said.
    method = spec_of_network(network).method
    config = _config_of(network, method, info)
    tensors = {
        name: (
            t.detach().to("cpu", torch.float16) if t.is_floating_point() else t.detach().cpu()
        ).contiguous()
        for name, t in network.state_dict().items()
    }
    weights = model_dir / WEIGHTS_FILE
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file(tensors, str(tmp), metadata={"config": json.dumps(asdict(config))})
    tmp.replace(weights)
    weights.chmod(0o644)  # readable by every user of a shared install
    info = replace(
        info,
        config=asdict(config),
        weights_file=WEIGHTS_FILE,
        sha256=file_sha256(weights),
        method=method,
    )
    write_model_info(model_dir, info)
    return info


def _check_names(model_dir: Path, expected: dict, found: dict) -> None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(extra[:3])}" if extra else "",
            )
            if part
        )
        raise WeightsError(
            f"The model weights in {model_dir} do not fit the network described in "
            f"model.json ({detail}); reinstall the model."
        )
    for name, tensor in expected.items():
        if tuple(found[name].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"The model weights in {model_dir} do not fit the network described in "
                f"model.json ({name} has shape {tuple(found[name].shape)}, expected "
                f"{tuple(tensor.shape)}); reinstall the model."
            )


def load_bundle(model_dir: Path, device: str | torch.device = "cpu") -> Bundle:
    """Read model.json, verify the weights' sha256, build the method's network, load them."""
    model_dir = Path(model_dir)
    info = read_model_info(model_dir)  # ModelInfoError when model.json is missing/damaged
    try:
        spec = network_spec(info.method)
    except UnknownMethodError as exc:
        raise ModelInfoError(str(exc)) from None
    weights = model_dir / info.weights_file
    if not weights.is_file():
        raise WeightsError(f"The model weights {weights} are missing; reinstall the model.")
    if file_sha256(weights) != info.sha256:
        raise WeightsError(
            f"The model weights in {model_dir} do not match their recorded checksum; "
            "reinstall the model."
        )
    try:
        config = config_from_dict(spec.method, info.config)
    except (TypeError, ValueError) as exc:
        raise WeightsError(
            f"The model in {model_dir} was made for a different version of this program ({exc})."
        ) from exc
    network = spec.build(config)
    try:
        tensors = load_file(str(weights))  # safetensors: plain arrays, nothing unpickled
    except (SafetensorError, OSError) as exc:
        raise WeightsError(
            f"The model weights in {model_dir} cannot be read; reinstall the model."
        ) from exc
    expected = network.state_dict()
    _check_names(model_dir, expected, tensors)
    network.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    target = choose_device(device)
    network = network.to(target).eval()
    if getattr(config, "channels_last", False):  # the VAE's setting; the others have none
        network = network.to(memory_format=torch.channels_last)
    members = tuple(_load_member(model_dir, name, info, target) for name in info.members)
    return Bundle(network=network, info=info, config=config, members=members)


def _load_member(model_dir: Path, name: str, info: ModelInfo, device: torch.device) -> nn.Module:
    """One ensemble member: a model folder of the same method and grid as the main one."""
    folder = (model_dir / name).resolve()
    if model_dir.resolve() not in folder.parents or folder == model_dir.resolve():
        raise WeightsError(f"The ensemble member {name} must be a folder inside {model_dir}.")
    member = load_bundle(folder, device)
    if member.members or member.method != info.method or member.image_size != int(
        info.config.get("image_size", member.image_size)
    ):
        raise WeightsError(
            f"The ensemble member {name} is not a single {info.method} model on the same grid."
        )
    return member.network
