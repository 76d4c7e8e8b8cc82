import numpy as np

from bvae_viewer.nn.bench import (
    compare_configs,
    compare_options,
    run_bench,
    synthetic_stack,
    training_throughput,
    with_stand_in_members,
)
from bvae_viewer.nn.voices import EngineOptions
from tests.nn.nnkit import tiny_config


def test_synthetic_stack_has_a_brain_in_the_middle_two_thirds():
    stack = synthetic_stack(30, size=32)
    assert len(stack) == 30 and stack.images.shape[1:] == (32, 32)
    brain = np.flatnonzero(stack.has_brain)
    assert len(brain) == 20 and brain[0] == 5 and brain[-1] == 24
    assert stack.images.max() <= 1.0 and not stack.images[~stack.masks].any()


def test_bench_reports_every_figure(tiny_bundle):
    figures = run_bench(tiny_bundle, device="cpu", samples=3, n_slices=12, brain_slices=6)
    assert "6 holding a brain-like ellipse" in figures["stack"]
    for key in (
        "volume_seconds",
        "first_slice_seconds",
        "slices_per_second",
        "matmul_gflops_fp32",
        "model_gflops_achieved",
        "peak_rss_mib",
    ):
        assert figures[key] > 0, key
    assert 0 < figures["first_slice_seconds"] <= figures["volume_seconds"]
    assert figures["model_gflop_per_volume"] > 0
    assert figures["fraction_of_matmul_peak"] > 0
    assert figures["device"].startswith("CPU") and figures["samples"] == 3
    # The caller's bundle stays where it was.
    assert next(tiny_bundle.network.parameters()).device.type == "cpu"


def test_training_throughput_runs_real_steps():
    assert training_throughput(tiny_config(), device="cpu", batch_size=4, steps=1) > 0


def test_compare_configs_times_both_on_the_same_stack(tiny_bundle):
    other = tiny_config(name="tiny-pooled", kv_pool=2)
    figures = compare_configs(tiny_bundle, {"pooled": other}, device="cpu", samples=2,
                              n_slices=8, brain_slices=4)
    assert figures["bundled"]["config"] == "tiny"
    row = figures["compared"]["pooled"]
    assert row["volume_seconds"] > 0 and row["slower_than_bundled"] > 0
    assert row["model_gflop_per_volume"] > 0


def test_engine_options_are_timed_beside_the_single_model(tiny_bundle):
    figures = compare_options(tiny_bundle, device="cpu", samples=2, n_slices=8)
    assert figures["single"]["engine_options"] == "single model"
    assert set(figures["options"]) == {
        "ensemble_3", "tta_3_views", "ensemble_3_x_tta_2", "mc_dropout_2_passes"}
    for row in figures["options"].values():
        assert row["volume_seconds"] > 0 and row["slower_than_single"] > 0
    # The work (not the clock) grows with the voices: three members, three networks' FLOPs.
    three = run_bench(with_stand_in_members(tiny_bundle, 2), device="cpu", samples=2,
                      n_slices=8, options=EngineOptions(members=3))
    one = figures["single"]
    assert three["model_gflop_per_volume"] / one["model_gflop_per_volume"] > 2.5
