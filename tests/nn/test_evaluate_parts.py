"""The pieces of `evaluate`: presets, pooling, the samplers, ADAE and the input checks."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from bvae_viewer.analysis.evaluation.data import EvalCase, pool, provenance
from bvae_viewer.analysis.model_info import ModelInfoError
from bvae_viewer.data.brats import DatasetError
from bvae_viewer.nn.evaluate import run_evaluate
from bvae_viewer.nn.evaluation.adae import (
    Equilibrium,
    adae_config,
    adae_maps,
    discriminator_loss,
    train_adae,
)
from bvae_viewer.nn.evaluation.preset import (
    FULL,
    GROUPS,
    PAPER64,
    QUICK,
    EvalPreset,
    get_preset,
)
from bvae_viewer.nn.evaluation.scoring import (
    ensemble_maps,
    mean_decoding_maps,
    score_cases,
    tta_maps,
    unaugment,
    vae_maps,
)
from bvae_viewer.nn.evaluation.vae_rows import ABLATION_SWITCHES, cnn_config
from bvae_viewer.nn.network import build_network
from bvae_viewer.nn.train import TrainOptions
from bvae_viewer.nn.tta import augment, tta_views
from tests.nn.nnkit import blob_images
from tests.volumes import write_brats_case

CPU = torch.device("cpu")


def test_presets_build_every_network_they_train():
    for preset in (QUICK, PAPER64, FULL):
        assert preset.groups == GROUPS
        for kind in ("paper", "fast"):
            assert preset.config(kind).image_size == preset.image_size
        base = preset.base_config
        configs = [replace(base, **s) for s in ABLATION_SWITCHES.values()]
        configs += [cnn_config(base, "mc", preset.dropout), adae_config(base)]
        if preset is not FULL:  # full-size networks take too long to build here
            for config in [preset.config("paper"), preset.config("fast"), *configs]:
                net = build_network(config)
                size = config.image_size
                assert net(torch.rand(2, 1, size, size)).mean.shape == (2, 1, size, size)
    assert FULL.image_size == 128 and FULL.config("paper") == replace(
        FULL.config("paper"), name="paper"
    )
    assert get_preset("quick") is QUICK and get_preset("paper64").image_size == 64
    # Networks stop on a plateau; the caps are a safety net, wide where a run is real.
    assert PAPER64.patience < PAPER64.epochs and PAPER64.budget_s >= 1200
    with pytest.raises(ValueError, match="Unknown evaluation preset"):
        get_preset("huge")
    with pytest.raises(ValueError, match="unknown evaluation rows"):
        EvalPreset(name="x", image_size=32, groups=("bundled", "nope"))
    with pytest.raises(ValueError, match="divide 128"):
        EvalPreset(name="x", image_size=48)


def test_pooling_averages_blocks_and_keeps_the_background_zero():
    images = np.zeros((1, 128, 128), np.float32)
    images[0, :4, :4] = 1.0  # one full block
    images[0, 4:8, :4] = np.array([1, 1, 0, 0], np.float32)[:, None]  # half a block
    masks = images > 0
    small, small_masks = pool(images, masks, 32)
    assert small.shape == (1, 32, 32) and small_masks.dtype == bool
    assert small[0, 0, 0] == 1.0 and small_masks[0, 0, 0]
    assert not small_masks[0, 1, 0] and small[0, 1, 0] == 0.0  # half brain: background
    same, _ = pool(images, masks, 128)
    assert same is images


def _cases(n_cases=2, n=6, size=32, seed=0):
    out = []
    for c in range(n_cases):
        images = blob_images(n, 128, seed=seed + c)
        labels = np.arange(n) % 2 == 0
        out.append(EvalCase(f"case{c}", images, images > 0, labels, np.arange(n) + 10, n))
    return out


def test_tta_views_invert_exactly_on_a_zero_background():
    x = torch.from_numpy(blob_images(3, 32)).unsqueeze(1) * 0.9  # no clipping at 1.05
    logvar = torch.randn_like(x)
    for view in tta_views(8, 32):
        mean, back_logvar = unaugment(augment(x, view), logvar, view)
        torch.testing.assert_close(mean, x, atol=1e-6, rtol=1e-5)
        if view[1] == 1.0 and view[2] == (0, 0) and not view[0]:
            torch.testing.assert_close(back_logvar, logvar)
    with pytest.raises(ValueError):
        tta_views(9, 32)


def test_samplers_give_brain_means_of_the_app_maps():
    torch.manual_seed(0)
    config = QUICK.config("paper")
    net = build_network(config).eval()
    cases = _cases()
    scored, per_slice = score_cases(vae_maps(net, 3, 0, CPU), cases, 32, CPU, batch=4)
    assert len(scored) == 12 and per_slice > 0
    assert list(scored.case_ids[:6]) == ["case0"] * 6
    assert np.all(scored.unc_total >= scored.unc_aleatoric)
    np.testing.assert_allclose(
        scored.unc_total, scored.unc_aleatoric + scored.unc_epistemic, rtol=1e-6
    )
    # Batching does not change a slice's latent noise.
    again, _ = score_cases(vae_maps(net, 3, 0, CPU), cases, 32, CPU, batch=5)
    np.testing.assert_allclose(again.recon_error, scored.recon_error, rtol=1e-5)
    # Decoding mu once: no epistemic part at all.
    mu_only, _ = score_cases(mean_decoding_maps(net, CPU), cases, 32, CPU)
    assert np.all(mu_only.unc_epistemic == 0)
    # An ensemble of two copies of one network disagrees nowhere.
    det = build_network(cnn_config(config, "member")).eval()
    twins, _ = score_cases(ensemble_maps([det, det], CPU), cases, 32, CPU)
    np.testing.assert_allclose(twins.unc_epistemic, 0, atol=1e-12)
    tta, _ = score_cases(tta_maps(det, 4, CPU), cases, 32, CPU)
    assert np.all(tta.unc_epistemic > 0) and np.isfinite(tta.pixel_score).all()


def test_mc_dropout_samples_differ_and_repeat():
    config = cnn_config(QUICK.config("paper"), "mc", dropout=0.5)
    torch.manual_seed(0)
    net = build_network(config)
    cases = _cases(1)
    a, _ = score_cases(vae_maps(net, 4, 0, CPU), cases, 32, CPU)
    b, _ = score_cases(vae_maps(net, 4, 0, CPU), cases, 32, CPU)
    assert np.all(a.unc_epistemic > 0)  # z = mu, so only dropout makes samples differ
    np.testing.assert_allclose(a.unc_epistemic, b.unc_epistemic)


def test_adae_trains_keeps_its_best_epoch_and_scores_two_ways():
    config = adae_config(QUICK.base_config)
    images = blob_images(16, 32, seed=1)
    masks = images > 0.05
    options = TrainOptions(
        epochs=3, batch_size=8, lr=1e-3, warmup_epochs=0, patience=1, min_skill=1.0, device="cpu"
    )
    result = train_adae(config, images, images[:4], masks[:4], options)
    # A skill of 1 is never reached, so no epoch counts towards the plateau: all three run.
    assert result.epochs_run == 3 and result.stopped == "epochs" and len(result.history) == 3
    assert {"loss_g", "loss_d", "k", "val_l1_g", "val_skill_g", "val_skill"} <= set(
        result.history[0]
    )
    assert all(0.0 <= h["k"] <= 1.0 for h in result.history)
    cases = _cases(1)
    gen, _ = score_cases(adae_maps(result.generator, result.discriminator, CPU), cases, 32, CPU)
    inp, _ = score_cases(
        adae_maps(result.generator, result.discriminator, CPU, "input"), cases, 32, CPU
    )
    assert not gen.has_uncertainty and np.all(gen.recon_error >= 0)
    assert np.isfinite(gen.pixel_score_peak).all()  # a peak reduction is open to ADAE
    assert np.all(gen.pixel_score_peak >= gen.pixel_score)
    assert not np.allclose(gen.recon_error, inp.recon_error)
    with pytest.raises(ValueError):
        adae_maps(result.generator, result.discriminator, CPU, "both")


def test_adae_discriminator_gains_nothing_beyond_the_margin():
    real = torch.tensor(0.05)
    within = torch.tensor(0.04, requires_grad=True)
    beyond = torch.tensor(5.0, requires_grad=True)
    discriminator_loss(real, within, 1.0, margin=0.1).backward()
    assert within.grad < 0  # below the margin, D still gains by spoiling G's output
    loss = discriminator_loss(real, beyond, 1.0, margin=0.1)
    loss.backward()
    assert beyond.grad == 0 and loss == real  # beyond it, nothing: L_D stays >= 0


def test_adae_equilibrium_weights_spoiling_only_while_d_reconstructs_fakes_too_well():
    balance = Equilibrium(gamma=0.5, gain=0.1)
    assert balance.k == 0.0  # D first learns to reconstruct, as in BEGAN
    rising = [balance.update(real=0.1, fake=0.01) for _ in range(30)]
    assert rising[0] > 0 and rising[-1] == 1.0  # fakes too easy for D: spoil them, up to 1
    falling = [balance.update(real=0.1, fake=0.2) for _ in range(30)]
    assert falling[0] < 1.0 and falling[-1] == 0.0  # D spoils too much: stop, down to 0
    held = Equilibrium(gamma=0.5, gain=0.1, k=0.3)
    assert held.update(real=0.1, fake=0.05) == 0.3  # at fake = gamma * real nothing moves
    assert held.update(real=0.0, fake=0.05) == 0.3  # no real error yet: no signal


def test_provenance_says_what_the_data_is(tmp_path):
    from bvae_viewer.data.brats import find_cases, load_case

    write_brats_case(tmp_path, "BraTS20_Training_001", tumour=True)
    loaded = [load_case(c) for c in find_cases(tmp_path)]
    other = provenance(tmp_path, loaded)
    assert other["kind"] == "other" and "not BraTS" in other["statement"]
    (tmp_path / "manifest.json").write_text('{"generator": "bvae_viewer.data.synth"}')
    synthetic = provenance(tmp_path, loaded)
    assert synthetic["kind"] == "synthetic"
    assert "synthetic data is not BraTS" in synthetic["statement"]


def test_bad_input_is_one_clear_error(tmp_path):
    model = tmp_path / "no-model"
    with pytest.raises(ValueError, match="Unknown evaluation preset"):
        run_evaluate(tmp_path, tmp_path / "out", model, preset="nope")
    with pytest.raises(ModelInfoError, match="No model found"):
        run_evaluate(tmp_path, tmp_path / "out", model, device="cpu")
    from bvae_viewer.paths import model_dir

    bundled = model_dir()
    if not (bundled / "model.json").exists():  # the checkout may not ship a model yet
        with pytest.raises(DatasetError, match="No BraTS cases"):
            run_evaluate(tmp_path, tmp_path / "out", bundled, device="cpu")
        for i in range(3):
            write_brats_case(tmp_path / "few", f"BraTS20_Training_{i:03d}", tumour=True, seed=i)
        with pytest.raises(DatasetError, match="at least 5 cases"):
            run_evaluate(tmp_path / "few", tmp_path / "out", bundled, device="cpu")
    assert not (tmp_path / "out").exists()  # nothing written for bad input


def test_given_model_rows_use_only_cases_it_never_saw(tmp_path):
    import json
    from dataclasses import replace
    from types import SimpleNamespace

    from bvae_viewer.data.brats import synthetic_source
    from bvae_viewer.nn.evaluation.bundled_rows import _unseen_test_cases
    from tests.nn.nnkit import make_bundle, tiny_config

    bundle = make_bundle(tmp_path / "model", tiny_config())
    training = {"data_source": {"generator": "bvae_viewer.data.synth", "seed": 7},
                "cases": {"train": ["SYN_00000"], "val": ["SYN_00001"], "test": ["SYN_00002"]}}
    bundle = replace(bundle, info=replace(bundle.info, training=training))
    test = [SimpleNamespace(case_id=f"SYN_{i:05d}") for i in range(3)]

    def manifest(seed):
        (tmp_path / "manifest.json").write_text(
            json.dumps({"generator": "bvae_viewer.data.synth", "seed": seed}))
        return SimpleNamespace(root=tmp_path, test=test)

    same_seed, note = _unseen_test_cases(bundle, manifest(7))
    assert [c.case_id for c in same_seed] == ["SYN_00002"] and "2 of 3" in note
    other_seed, note = _unseen_test_cases(bundle, manifest(11))
    assert len(other_seed) == 3 and "seed 11" in note
    (tmp_path / "manifest.json").unlink()  # not synthetic: IDs decide
    assert len(_unseen_test_cases(bundle, SimpleNamespace(root=tmp_path, test=test))[0]) == 1
    assert synthetic_source(tmp_path) is None
