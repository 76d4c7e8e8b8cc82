"""`bench --gui`: the window's own analysis of the bench's volume, timed in the same run."""

import pytest

from bvae_viewer.gui.app import window_figures
from bvae_viewer.nn.bench import synthetic_stack
from bvae_viewer.nn.bundle import load_bundle

pytestmark = pytest.mark.gui


def test_the_window_analyses_the_bench_volume_and_says_how_long(qapp, model_dir, engine_runs):
    bundle = load_bundle(model_dir)
    stack = synthetic_stack(n_slices=12, brain_slices=8, size=bundle.image_size)
    figures = window_figures(model_dir, bundle, stack, device="cpu", samples=2, runs=2)
    assert figures["slices"] == 12 and figures["device"].startswith("CPU")
    assert figures["wall_seconds"] >= figures["worker_seconds"] > 0
    assert len(engine_runs) == 2  # computed both times: the result cache is not read
