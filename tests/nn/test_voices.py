"""Ensemble members and test-time views as engine options of the VAE (nn.voices)."""

import numpy as np
import pytest

from bvae_viewer.nn.bundle import WeightsError, load_bundle
from bvae_viewer.nn.engine import EngineError, InferenceEngine
from bvae_viewer.nn.voices import EngineOptions, assemble_ensemble, geometric_views, score_spread
from tests.nn.nnkit import make_bundle, make_stack, tiny_config


@pytest.fixture
def ensemble(tmp_path):
    """A main network and one member, initialised from different seeds."""
    make_bundle(tmp_path / "a", tiny_config(), seed=1)
    make_bundle(tmp_path / "b", tiny_config(), seed=2)
    assemble_ensemble(tmp_path / "a", [tmp_path / "b"], tmp_path / "ens")
    return tmp_path


def _run(bundle, **options):
    engine = InferenceEngine(bundle, device="cpu", samples=2, options=EngineOptions(**options))
    return sorted(engine.run(make_stack()), key=lambda r: r.position)


def test_two_members_disagree_where_a_single_model_cannot(ensemble):
    bundle = load_bundle(ensemble / "ens")
    assert len(bundle.members) == 1
    single = _run(bundle)
    pooled = _run(bundle, members=2)
    brain = [r for r in pooled if not r.scores.empty]
    assert all(np.isnan(r.scores.score_spread) for r in single)
    assert all(r.scores.score_spread > 0 for r in brain)
    # Pooled over two different networks, the reconstruction varies more than over latent
    # samples of one: the epistemic map rises.
    epi_single = np.mean([r.scores.unc_epistemic for r in single if not r.scores.empty])
    epi_pooled = np.mean([r.scores.unc_epistemic for r in brain])
    assert epi_pooled > epi_single
    # The pooled reconstruction is the mean of the members' reconstructions.
    member = _run(load_bundle(ensemble / "b"))
    for p, s, m in zip(pooled, single, member, strict=True):
        if not p.scores.empty:
            np.testing.assert_allclose(
                p.maps.reconstruction, (s.maps.reconstruction + m.maps.reconstruction) / 2,
                atol=1e-5)


def test_views_are_exactly_invertible_and_add_spread(tmp_path):
    bundle = make_bundle(tmp_path / "m", tiny_config(), seed=1)
    views = _run(bundle, views=3)
    assert all(r.scores.score_spread >= 0 for r in views if not r.scores.empty)
    assert len(geometric_views(6, 32)) == 6
    with pytest.raises(EngineError):
        _run(bundle, views=7)


def test_options_the_model_cannot_honour_are_refused(ensemble):
    with pytest.raises(EngineError, match="2 ensemble member"):
        _run(load_bundle(ensemble / "ens"), members=3)


def test_a_member_that_does_not_fit_is_refused(tmp_path):
    make_bundle(tmp_path / "a", tiny_config(), seed=1)
    make_bundle(tmp_path / "b", tiny_config(image_size=64), seed=2)
    with pytest.raises(WeightsError):
        assemble_ensemble(tmp_path / "a", [tmp_path / "b"], tmp_path / "ens")
    assert not (tmp_path / "ens").exists()


def test_score_spread():
    assert np.isnan(score_spread(np.array([1.0])))
    assert score_spread(np.array([1.0, 1.0])) == 0.0
    assert score_spread(np.array([1.0, np.e])) == pytest.approx(0.5)
