import threading

import numpy as np
import pytest
import torch
from torch import nn

from bvae_viewer.analysis.maps import reconstruction_maps, score_slice
from bvae_viewer.nn.engine import EngineError, InferenceEngine, slice_noise
from tests.nn.nnkit import make_stack

FIELDS = ("reconstruction", "aleatoric", "epistemic", "error", "pixel_score")


def _by_position(results):
    return {r.position: r for r in results}


def test_maps_and_scores_match_the_numpy_reference(tiny_bundle):
    stack = make_stack()
    results = _by_position(InferenceEngine(tiny_bundle, device="cpu", samples=4, seed=5).run(stack))
    net = tiny_bundle.network
    for p in np.flatnonzero(stack.has_brain):
        # The same decoder samples, drawn by hand: z = mu + sigma * eps with the slice's noise.
        x = torch.from_numpy(stack.images[p])[None, None]
        with torch.no_grad():
            mu, logvar = net.encoder(x)
            z = mu + torch.exp(0.5 * logvar) * slice_noise(5, int(p), 4, mu.shape[1])
            rec = net.decoder(z)
        ref = reconstruction_maps(
            stack.images[p], rec.mean[:, 0].numpy(), rec.logvar[:, 0].numpy(), stack.masks[p]
        )
        got = results[p].maps
        for name in FIELDS:
            np.testing.assert_allclose(
                getattr(got, name), getattr(ref, name), rtol=1e-4, atol=1e-6, err_msg=name
            )
        nll = float(np.mean(0.5 * mu.numpy() ** 2 + 0.5 * np.log(2 * np.pi)))
        expected = score_slice(ref, 0.3, int(stack.slice_index[p]), float(stack.brain_fraction[p]))
        assert results[p].scores.anomaly_score == pytest.approx(expected.anomaly_score, rel=1e-4)
        assert results[p].scores.unc_epistemic == pytest.approx(expected.unc_epistemic, rel=1e-4)
        assert results[p].scores.latent_nll == pytest.approx(nll, rel=1e-5)
        assert results[p].scores.slice_index == stack.slice_index[p]
        assert not results[p].scores.empty
        assert got.epistemic.max() > 0  # the K samples really differ


def test_slices_without_brain_cost_no_network_and_come_back_empty(tiny_bundle):
    stack = make_stack(empty=(0, 1, 11))
    results = _by_position(InferenceEngine(tiny_bundle, device="cpu").run(stack))
    assert sorted(results) == list(range(len(stack)))
    for p in (0, 1, 11):
        assert results[p].scores.empty and np.isnan(results[p].scores.anomaly_score)
        assert not results[p].maps.reconstruction.any()
    assert not results[5].scores.empty


def test_requested_slices_come_first_then_the_rest(tiny_bundle):
    stack = make_stack()
    positions = [
        r.position
        for r in InferenceEngine(tiny_bundle, device="cpu").run(stack, order=[7, 6, 8, 0])
    ]
    assert positions[:4] == [7, 6, 8, 0]
    assert sorted(positions) == list(range(len(stack)))
    assert positions[4:] == sorted(positions[4:])


def test_bad_order_position_is_refused(tiny_bundle):
    with pytest.raises(EngineError, match="outside the volume"):
        list(InferenceEngine(tiny_bundle, device="cpu").run(make_stack(), order=[99]))


def test_results_do_not_depend_on_order_or_batch_size(tiny_bundle):
    stack = make_stack()
    a = _by_position(InferenceEngine(tiny_bundle, device="cpu", batch_size=16).run(stack))
    b = _by_position(
        InferenceEngine(tiny_bundle, device="cpu", batch_size=3).run(stack, order=[9, 2, 5])
    )
    other_seed = _by_position(InferenceEngine(tiny_bundle, device="cpu", seed=1).run(stack))
    for p in range(len(stack)):
        for name in FIELDS:
            np.testing.assert_allclose(
                getattr(a[p].maps, name), getattr(b[p].maps, name), rtol=1e-5, atol=1e-7
            )
    assert not np.allclose(a[5].maps.epistemic, other_seed[5].maps.epistemic)


def test_cancellation_stops_between_batches(tiny_bundle):
    stack = make_stack()
    cancel = threading.Event()
    seen = []
    for result in InferenceEngine(tiny_bundle, device="cpu", batch_size=2).run(
        stack, cancel=cancel
    ):
        seen.append(result.position)
        cancel.set()
    assert 1 <= len(seen) < len(stack)


class _SmallMemoryDecoder(nn.Module):
    """The real decoder, raising CUDA's out-of-memory error above a number of samples."""

    def __init__(self, decoder: nn.Module, max_samples: int) -> None:
        super().__init__()
        self.inner = decoder
        self.max_samples = max_samples
        self.calls: list[int] = []

    def forward(self, z):
        self.calls.append(z.shape[0])
        if z.shape[0] > self.max_samples:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(z)


def test_out_of_memory_halves_the_batch_and_keeps_results(tiny_bundle):
    stack = make_stack()
    reference = _by_position(InferenceEngine(tiny_bundle, device="cpu", samples=2).run(stack))
    real = tiny_bundle.network.decoder
    tiny_bundle.network.decoder = _SmallMemoryDecoder(real, max_samples=2 * 3)  # 3 slices fit
    engine = InferenceEngine(tiny_bundle, device="cpu", samples=2, batch_size=8)
    results = _by_position(engine.run(stack))
    assert engine.notes == [
        "CPU out of memory: batch size halved to 4",
        "CPU out of memory: batch size halved to 2",
    ]
    assert engine.batch_size == 2
    for p in range(len(stack)):
        np.testing.assert_allclose(
            results[p].maps.pixel_score, reference[p].maps.pixel_score, rtol=1e-5, atol=1e-6
        )


def test_out_of_memory_at_one_slice_on_the_cpu_is_a_clear_error(tiny_bundle):
    tiny_bundle.network.decoder = _SmallMemoryDecoder(tiny_bundle.network.decoder, max_samples=0)
    engine = InferenceEngine(tiny_bundle, device="cpu", batch_size=4)
    with pytest.raises(EngineError, match="not enough memory"):
        list(engine.run(make_stack()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_out_of_memory_at_one_slice_on_cuda_falls_back_to_cpu(tiny_bundle):
    class CudaOnlyOOM(_SmallMemoryDecoder):
        def forward(self, z):
            if z.is_cuda:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory.")
            return self.inner(z)

    tiny_bundle.network.decoder = CudaOnlyOOM(tiny_bundle.network.decoder, max_samples=0)
    engine = InferenceEngine(tiny_bundle, device="cuda", batch_size=2)
    results = list(engine.run(make_stack()))
    assert len(results) == 12
    assert engine.notes[-1] == "CUDA out of memory at batch size 1: fell back to CPU"
    assert engine.device.type == "cpu" and engine.device_label.startswith("CPU")


def test_image_size_mismatch_is_refused(tiny_bundle):
    with pytest.raises(EngineError, match="expects 32x32"):
        list(InferenceEngine(tiny_bundle, device="cpu").run(make_stack(size=64)))
