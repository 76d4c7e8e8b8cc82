import pytest
import torch

from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.nn.bundle import save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.network import build_network


@pytest.fixture(scope="session")
def untrained_model(tmp_path_factory):
    """The real fast network with random weights, saved as a model folder."""
    torch.manual_seed(0)
    config = ModelConfig.fast()
    network = build_network(config).eval()
    folder = tmp_path_factory.mktemp("model")
    info = ModelInfo(
        name="untrained-test",
        config={},
        weights_file="weights.safetensors",
        sha256="",
        calibration=Calibration(alpha=0.5, score_threshold=10.0, uncertainty_threshold=10.0),
    )
    save_bundle(network, info, folder)
    return folder


@pytest.fixture
def tiny_brats(tmp_path):
    """Seven small BraTS-layout cases, two in three with a tumour: enough to split."""
    from tests.volumes import write_brats_case

    data = tmp_path / "data"
    for i in range(7):
        write_brats_case(data, f"BraTS20_Training_{i:03d}", tumour=i % 3 != 0, seed=i)
    return data
