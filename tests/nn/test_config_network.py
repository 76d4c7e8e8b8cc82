import json
from dataclasses import asdict, replace

import pytest
import torch

from bvae_viewer.nn.attention import SpatialAttention
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.network import build_network
from tests.nn.nnkit import tiny_config


def test_presets_round_trip_through_json():
    for config in (ModelConfig.paper(), ModelConfig.fast(), tiny_config(kv_pool=4)):
        raw = json.loads(json.dumps(asdict(config)))
        assert ModelConfig.from_dict(raw) == config


def test_paper_preset_is_the_published_architecture():
    c = ModelConfig.paper()
    assert (c.image_size, c.latent_dim, c.channels, c.heads) == (128, 256, (32, 64, 128, 256), 8)
    assert (c.enc_attention, c.dec_attention, c.kv_pool) == ((2, 4), (1, 3), 0)
    assert c.aleatoric and not c.deterministic and c.logvar_clamp == 20.0


def test_unknown_or_impossible_settings_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"layers": 5})
    with pytest.raises(ValueError, match="attention position"):
        ModelConfig(enc_attention=(5,))
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(image_size=100)


def _attention_sizes(config: ModelConfig) -> dict[str, list[int]]:
    """Feature-map side at which each attention block runs, found by running the network."""
    net = build_network(config).eval()
    sizes: dict[str, list[int]] = {"encoder": [], "decoder": []}
    for part in sizes:
        for module in getattr(net, part).modules():
            if isinstance(module, SpatialAttention):
                module.register_forward_hook(
                    lambda m, args, out, part=part: sizes[part].append(args[0].shape[-1])
                )
    with torch.no_grad():
        net(torch.rand(1, 1, config.image_size, config.image_size))
    return sizes


def test_attention_placement_paper_and_fast():
    assert _attention_sizes(ModelConfig.paper()) == {"encoder": [32, 8], "decoder": [16, 64]}
    assert _attention_sizes(ModelConfig.fast()) == {"encoder": [32, 8], "decoder": [16, 32]}
    assert _attention_sizes(replace(ModelConfig.paper(), attention=False)) == {
        "encoder": [],
        "decoder": [],
    }


@pytest.mark.parametrize("preset", ["paper", "fast"])
def test_output_shapes_at_128(preset):
    config = getattr(ModelConfig, preset)()
    net = build_network(config).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 1, 128, 128))
    assert out.mean.shape == out.logvar.shape == (2, 1, 128, 128)
    assert out.mu.shape == out.logvar_z.shape == (2, 256)
    assert float(out.mean.min()) >= 0.0 and float(out.mean.max()) <= 1.0  # sigmoid mean


def test_logvars_are_clamped():
    net = build_network(tiny_config(logvar_clamp=3.0)).eval()
    with torch.no_grad():
        net.decoder.head.bias.fill_(50.0)
        rec = net.decoder(torch.zeros(2, 16))
    assert float(rec.logvar.max()) == 3.0


def test_pixel_logvar_floor():
    net = build_network(tiny_config(pixel_logvar_min=-4.0)).eval()
    with torch.no_grad():
        net.decoder.head.bias.fill_(-50.0)
        rec = net.decoder(torch.zeros(2, 16))
    assert float(rec.logvar.min()) == -4.0
    assert ModelConfig.fast().pixel_logvar_min == -9.0
    assert ModelConfig.paper().pixel_logvar_min is None


def test_deterministic_autoencoder_decodes_the_mean():
    net = build_network(tiny_config(deterministic=True)).eval()
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        a, b = net(x), net(x)
    assert torch.equal(a.mean, b.mean)


def test_without_aleatoric_head_one_learned_variance():
    net = build_network(tiny_config(aleatoric=False)).eval()
    with torch.no_grad():
        net.decoder.global_logvar.fill_(-2.0)
        rec = net.decoder(torch.randn(2, 16))
    assert torch.all(rec.logvar == -2.0)


def test_pooled_attention_keeps_every_query():
    attn = SpatialAttention(16, heads=4, kv_pool=4).eval()
    with torch.no_grad():
        attn.gate.fill_(1.0)
        x = torch.randn(2, 16, 16, 16)
        y = attn(x)
    assert y.shape == x.shape
    # Queries differ per pixel, so the attended output is not constant over the map.
    assert float((y - x).std(dim=(2, 3)).min()) > 0


def test_channels_last_does_not_change_results():
    config = tiny_config()
    torch.manual_seed(1)
    a = build_network(config).eval()
    b = build_network(replace(config, channels_last=False)).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        ma, _ = a.decoder(a.encoder(x)[0])
        mb, _ = b.decoder(b.encoder(x)[0])
    torch.testing.assert_close(ma, mb, rtol=1e-4, atol=1e-5)


def test_mc_dropout_sits_on_the_central_decoder_blocks():
    config = replace(tiny_config(), dropout=0.2)
    decoder = build_network(config).decoder
    order = [type(m).__name__ for m in decoder.features]
    convs = [i for i, name in enumerate(order) if name == "ConvTranspose2d"]
    dropped = [i for i, c in enumerate(convs) if c > 0 and order[c - 1] == "Dropout2d"]
    assert dropped == list(range(config.dropout_blocks))  # the blocks nearest the bottleneck
    assert len(convs) > config.dropout_blocks  # so the full-resolution convs run without it
    old = json.loads(json.dumps(asdict(config)))
    old.pop("dropout_blocks")  # a config saved before the field existed still loads
    assert ModelConfig(**old).dropout_blocks == 2
