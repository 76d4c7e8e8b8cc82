import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from bvae_viewer.analysis.model_info import ModelInfoError, read_model_info
from bvae_viewer.nn.bundle import WEIGHTS_FILE, WeightsError, file_sha256, load_bundle
from bvae_viewer.nn.config import ModelConfig
from tests.nn.nnkit import make_bundle, tiny_config


def test_saved_bundle_records_checksum_config_and_fp16(tmp_path):
    config = tiny_config()
    bundle = make_bundle(tmp_path / "a", config)
    info = read_model_info(tmp_path / "a")
    assert info.sha256 == file_sha256(tmp_path / "a" / WEIGHTS_FILE)
    assert ModelConfig.from_dict(info.config) == config == bundle.config
    assert not bundle.network.training
    tensors = load_file(str(tmp_path / "a" / WEIGHTS_FILE))
    assert {t.dtype for t in tensors.values()} == {torch.float16}


def test_saved_weights_match_the_fp32_network_within_fp16(tmp_path):
    from bvae_viewer.analysis.model_info import ModelInfo
    from bvae_viewer.nn.bundle import save_bundle
    from bvae_viewer.nn.network import build_network

    torch.manual_seed(3)
    net = build_network(tiny_config()).eval()
    save_bundle(net, ModelInfo("t", {}, "", ""), tmp_path)
    loaded = load_bundle(tmp_path).network
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        a = net.decoder(net.encoder(x)[0])
        b = loaded.decoder(loaded.encoder(x)[0])
    torch.testing.assert_close(a.mean, b.mean, rtol=0, atol=2e-3)
    torch.testing.assert_close(a.logvar, b.logvar, rtol=0, atol=2e-2)


def test_a_flipped_byte_is_refused(tmp_path):
    make_bundle(tmp_path, tiny_config())
    path = tmp_path / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="do not match their recorded checksum"):
        load_bundle(tmp_path)


def test_missing_model_json_is_a_clear_error(tmp_path):
    make_bundle(tmp_path, tiny_config())
    (tmp_path / "model.json").unlink()
    with pytest.raises(ModelInfoError, match="No model found"):
        load_bundle(tmp_path)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    make_bundle(tmp_path, tiny_config())
    (tmp_path / WEIGHTS_FILE).unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_bundle(tmp_path)


def _rewrite_weights(model_dir, change) -> None:
    """Edit the tensors and record the new checksum, as a bad export would."""
    path = model_dir / WEIGHTS_FILE
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))
    raw = json.loads((model_dir / "model.json").read_text())
    raw["sha256"] = file_sha256(path)
    (model_dir / "model.json").write_text(json.dumps(raw))


def test_extra_or_missing_tensor_names_are_refused(tmp_path):
    make_bundle(tmp_path, tiny_config())
    _rewrite_weights(tmp_path, lambda t: t.update(stowaway=torch.zeros(3, dtype=torch.float16)))
    with pytest.raises(WeightsError, match="unexpected stowaway"):
        load_bundle(tmp_path)
    _rewrite_weights(tmp_path, lambda t: (t.pop("stowaway"), t.pop("decoder.head.bias")))
    with pytest.raises(WeightsError, match=r"missing decoder\.head\.bias"):
        load_bundle(tmp_path)


def test_wrong_tensor_shape_is_refused(tmp_path):
    make_bundle(tmp_path, tiny_config())
    _rewrite_weights(tmp_path, lambda t: t.update({"decoder.head.bias": torch.zeros(5).half()}))
    with pytest.raises(WeightsError, match="shape"):
        load_bundle(tmp_path)
