"""`analyze` and the result cache, with the real (untrained) network: a second run of the
same volume is a hit with identical outputs; --no-cache, another K or another model miss."""

import json
import math
import os
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bvae_viewer.analysis.cache_store import ResultCache
from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.model_info import Calibration, ModelInfo, read_model_info
from bvae_viewer.analysis.result_cache import MAP_FIELDS
from bvae_viewer.logs import LOG_FILE
from bvae_viewer.nn.bundle import load_bundle, save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.network import build_network
from bvae_viewer.pipeline.analyze import analyze_loaded
from bvae_viewer.pipeline.case import load_case
from bvae_viewer.pipeline.run import cache_key_for
from tests.cli.test_cli import run_cli
from tests.volumes import brain_phantom, write_nifti

# What may differ between a fresh and a cached run: how long it took, and whence it came.
VOLATILE = ("timings_s", "cache")


@pytest.fixture
def nifti(tmp_path):
    image, _ = brain_phantom(shape=(64, 72, 30))
    return write_nifti(tmp_path / "case.nii.gz", image)


def analyze(nifti: Path, out: Path, model: Path, *extra: str) -> tuple[dict, bytes]:
    proc = run_cli("analyze", nifti, "--out", out, "--model", model, "--device", "cpu",
                   "--samples", "2", *extra)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads((out / "case.json").read_text()), (out / "slices.csv").read_bytes()


def stable(case: dict) -> dict:
    return {k: v for k, v in case.items() if k not in VOLATILE}


def test_a_second_analyze_is_a_cache_hit_with_identical_outputs(tmp_path, nifti,
                                                                untrained_model):
    first, first_csv = analyze(nifti, tmp_path / "a", untrained_model)
    assert first["cache"]["enabled"] and not first["cache"]["hit"]
    assert first["timings_s"]["inference"] > 0 and "cache_write" in first["timings_s"]

    second, second_csv = analyze(nifti, tmp_path / "b", untrained_model)
    assert second["cache"] == {**first["cache"], "hit": True}
    assert second["timings_s"]["inference"] == 0.0  # the network did not run
    assert "cache_read" in second["timings_s"]
    assert second_csv == first_csv
    assert stable(second) == stable(first)

    # --no-cache runs the network again: the same numbers, so a hit is a fresh run.
    fresh, fresh_csv = analyze(nifti, tmp_path / "c", untrained_model, "--no-cache")
    assert fresh["cache"] == {"enabled": False, "hit": False, "key": None}
    assert fresh["timings_s"]["inference"] > 0
    assert fresh_csv == first_csv and stable(fresh) == stable(first)

    # Another K is another result.
    other, _ = analyze(nifti, tmp_path / "d", untrained_model, "--samples", "3")
    assert not other["cache"]["hit"] and other["cache"]["key"] != first["cache"]["key"]

    state = Path(os.environ["BVAE_VIEWER_STATE_DIR"])
    entries = sorted(p.name for p in (state / "cache" / "results").iterdir())
    assert entries == sorted(f"{c['cache']['key']}.npz" for c in (first, other))
    log = (state / "log" / LOG_FILE).read_text()
    assert log.count("result cache miss") == 2 and log.count("result cache hit") == 1
    assert "--no-cache" in log and "untrained-test" in log


def same_scores(a: SliceScores, b: SliceScores) -> bool:
    def eq(x, y):
        return (isinstance(x, float) and math.isnan(x) and math.isnan(y)) or x == y

    return all(eq(getattr(a, f.name), getattr(b, f.name)) for f in fields(SliceScores))


def test_a_hit_hands_a_report_the_same_slices_and_maps(tmp_path, nifti, untrained_model):
    loaded = load_case(nifti)
    bundle = load_bundle(untrained_model)
    cache = ResultCache(tmp_path / "cache")
    runs = [
        analyze_loaded(loaded, bundle, device="cpu", samples=2, keep_maps=True,
                       decided=[10, 11], cache=cache)
        for _ in range(2)
    ]
    fresh, hit = runs
    assert not fresh.result.extra["cache"]["hit"] and hit.result.extra["cache"]["hit"]
    assert all(same_scores(a, b) for a, b in
               zip(fresh.result.scores, hit.result.scores, strict=True))
    assert fresh.result.decisions == hit.result.decisions
    assert fresh.result.case == hit.result.case
    assert fresh.map_levels == hit.map_levels
    assert set(hit.maps) == set(fresh.maps) and {10, 11} <= set(hit.maps)
    for index, maps in fresh.maps.items():
        cached = hit.maps[index]
        np.testing.assert_array_equal(cached.original, maps.original)
        np.testing.assert_array_equal(cached.brain_mask, maps.brain_mask)
        for name in MAP_FIELDS:
            want = getattr(maps, name)
            np.testing.assert_allclose(getattr(cached, name), want, rtol=0,
                                       atol=float(np.abs(want).max()) * 2.0**-11 + 1e-12)


def test_the_key_follows_the_model_and_the_volume(tmp_path, nifti, untrained_model):
    loaded = load_case(nifti)
    bundle = load_bundle(untrained_model)
    engine = InferenceEngine(bundle, device="cpu", samples=2)
    key = cache_key_for(loaded.stack, loaded.fingerprint, engine)
    assert key.model_sha256 == read_model_info(untrained_model).sha256
    assert key.samples == 2 and key.seed == 0 and key.device_kind.startswith("cpu")
    other_k = cache_key_for(loaded.stack, loaded.fingerprint,
                            InferenceEngine(bundle, device="cpu", samples=3))
    image, _ = brain_phantom(shape=(64, 72, 30), seed=1)
    other_volume = load_case(write_nifti(tmp_path / "other.nii.gz", image))
    other_content = cache_key_for(other_volume.stack, other_volume.fingerprint, engine)
    torch.manual_seed(1)
    retrained = tmp_path / "retrained"
    save_bundle(build_network(ModelConfig.fast()).eval(), bundle.info, retrained)
    other_bundle = load_bundle(retrained)
    other_model = cache_key_for(loaded.stack, loaded.fingerprint,
                                InferenceEngine(other_bundle, device="cpu", samples=2))
    digests = {k.digest for k in (key, other_k, other_content, other_model)}
    assert len(digests) == 4


def test_mc_dropout_models_are_not_cached(tmp_path, nifti):
    config = replace(ModelConfig.fast(), dropout=0.1)
    torch.manual_seed(0)
    info = ModelInfo(name="dropout-test", config={}, weights_file="weights.safetensors",
                     sha256="", calibration=Calibration(alpha=0.5, score_threshold=10.0,
                                                        uncertainty_threshold=10.0))
    folder = tmp_path / "dropout-model"
    save_bundle(build_network(config).eval(), info, folder)
    cache = ResultCache(tmp_path / "cache")
    analysis = analyze_loaded(load_case(nifti), load_bundle(folder), device="cpu", samples=2,
                              cache=cache)
    assert analysis.result.extra["cache"] == {"enabled": False, "hit": False, "key": None}
    assert cache.entries() == []

