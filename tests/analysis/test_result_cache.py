"""The per-volume result cache: keys, the .npz round trip, LRU eviction, damage, races.

No model here: the slices' maps come from the numpy reference of eq. 10-14 (analysis/maps),
which is what the engine computes. tests/cli/test_cache_cli.py runs the real network.
"""

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import pytest

from bvae_viewer import paths
from bvae_viewer.analysis.cache_store import (
    DEFAULT_MAX_BYTES,
    SIZE_ENV,
    ResultCache,
    default_cache,
    max_bytes_from_env,
    parse_size,
)
from bvae_viewer.analysis.maps import MapSet, SliceScores, reconstruction_maps, score_slice
from bvae_viewer.analysis.result_cache import (
    MAP_FIELDS,
    CachedVolume,
    CacheKey,
    SliceRecorder,
    make_key,
    write_npz,
)
from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack

ROOT = Path(__file__).resolve().parents[2]
SIDE = 32


def small_stack(n: int = 12, seed: int = 0, side: int = SIDE) -> SliceStack:
    """n slices; the first and last two have no brain, as at the top and bottom of a head."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    disc = (yy - side / 2) ** 2 + (xx - side / 2) ** 2 < (side / 3) ** 2
    masks = np.repeat(disc[None], n, axis=0)
    masks[:2] = masks[-2:] = False
    images = (rng.random((n, side, side)) * masks).astype(np.float32)
    fraction = masks.mean(axis=(1, 2)).astype(np.float32)
    grid = InPlaneGrid(0.0, 1.0, 0.0, 1.0, (side, side))
    return SliceStack(images, masks, np.arange(n) + 3, fraction, grid, 1.0)


def engine_like(stack: SliceStack, samples: int = 3, seed: int = 0):
    """(position, maps, scores) per slice, as nn/engine.InferenceEngine.run yields them."""
    rng = np.random.default_rng(seed)
    for p in range(len(stack)):
        x, mask = stack.images[p], stack.masks[p]
        if not mask.any():
            maps = MapSet.empty(x, np.zeros_like(mask))
        else:
            means = np.clip(x + 0.1 * rng.standard_normal((samples, *x.shape)), 0, 1)
            logvars = rng.uniform(-9, -3, (samples, *x.shape))
            maps = reconstruction_maps(x, means, logvars, mask)
        nll = float("nan") if not mask.any() else float(rng.random())
        yield p, maps, score_slice(maps, 0.4, int(stack.slice_index[p]),
                                   float(stack.brain_fraction[p]), nll)


def key_for(stack: SliceStack, **changes) -> CacheKey:
    args = dict(case_hash="c" * 64, stack=stack, model_sha256="m" * 64,
                model_config={"name": "fast", "latent_dim": 256}, alpha=0.4, samples=3,
                seed=0, device_kind="cpu AVX2, 2 threads, torch 2.13.0")
    args.update(changes)
    return make_key(**args)


def recorded(stack: SliceStack, key: CacheKey | None = None, seed: int = 0):
    """A finished CachedVolume, and the float32 maps the engine handed over."""
    recorder = SliceRecorder(len(stack))
    originals = {}
    for p, maps, scores in engine_like(stack, seed=seed):
        recorder.add(p, maps, scores)
        originals[p] = (maps, scores)
    volume = recorder.finish(key or key_for(stack), "CPU (2 threads)", ["a note"],
                             {"error": 0.5})
    return volume, originals


def same_scores(a: SliceScores, b: SliceScores) -> bool:
    """Exactly equal, NaN equal to NaN."""
    for f in fields(SliceScores):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, float) and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


# --- keys --------------------------------------------------------------------------------


def test_the_key_changes_with_everything_that_changes_the_result():
    stack = small_stack()
    base = key_for(stack)
    assert key_for(stack).digest == base.digest  # deterministic
    other_content = small_stack(seed=1)
    variants = [
        key_for(stack, model_sha256="n" * 64),
        key_for(stack, samples=5),
        key_for(other_content),  # same case hash, other slices: preprocessing changed
        key_for(stack, case_hash="d" * 64),
        key_for(stack, seed=1),
        key_for(stack, alpha=0.41),
        key_for(stack, reduction="peak"),
        key_for(stack, device_kind="cuda NVIDIA H200, torch 2.13.0"),
        key_for(stack, model_config={"name": "fast", "latent_dim": 128}),
        replace(base, format=base.format + 1),
        replace(base, code_version="9.9.9"),
    ]
    digests = {v.digest for v in variants}
    assert base.digest not in digests and len(digests) == len(variants)


# --- round trip --------------------------------------------------------------------------


def test_round_trip_gives_the_same_scores_and_maps_within_float16(tmp_path):
    stack = small_stack()
    volume, originals = recorded(stack)
    cache = ResultCache(tmp_path)
    assert cache.put(volume)
    back = cache.get(volume.key)
    assert back is not None
    assert back.device_label == "CPU (2 threads)" and back.notes == ("a note",)
    assert back.map_p99 == {"error": 0.5}
    order = [5, 0, 7]
    streamed = list(back.slices(stack, order=order))
    assert [s.position for s in streamed] == [5, 0, 7, 1, 2, 3, 4, 6, 8, 9, 10, 11]
    for item in streamed:
        maps, scores = originals[item.position]
        assert same_scores(item.scores, scores)  # full precision, not recomputed from maps
        np.testing.assert_array_equal(item.maps.original, stack.images[item.position])
        np.testing.assert_array_equal(item.maps.brain_mask, maps.brain_mask)
        for name in MAP_FIELDS:
            got, want = getattr(item.maps, name), getattr(maps, name)
            assert got.dtype == np.float32 and got.shape == want.shape
            bound = float(np.abs(want).max()) * 2.0**-11  # float16 relative to the maximum
            np.testing.assert_allclose(got, want, rtol=0, atol=bound + 1e-12)
    assert streamed[1].scores.empty and not streamed[1].maps.brain_mask.any()


def test_huge_pixel_scores_do_not_overflow_float16(tmp_path):
    stack = small_stack(n=3)
    recorder = SliceRecorder(3)
    for p, maps, scores in engine_like(stack):
        if not scores.empty:
            maps = replace(maps, pixel_score=maps.pixel_score * 1e6)  # far above 65504
        recorder.add(p, maps, scores)
        last = maps
    cache = ResultCache(tmp_path)
    volume = recorder.finish(key_for(stack), "CPU")
    assert cache.put(volume)
    got = cache.get(volume.key).mapset(2, stack.images[2]).pixel_score
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, last.pixel_score, rtol=0,
                               atol=float(last.pixel_score.max()) * 2.0**-11)


def test_an_unfinished_run_cannot_be_stored():
    stack = small_stack(n=4)
    recorder = SliceRecorder(4)
    for p, maps, scores in list(engine_like(stack))[:3]:  # cancelled after three slices
        recorder.add(p, maps, scores)
    assert not recorder.complete
    with pytest.raises(ValueError, match="3 of 4"):
        recorder.finish(key_for(stack), "CPU")


def test_a_miss_is_none_and_a_disabled_cache_stores_nothing(tmp_path):
    stack = small_stack(n=4)
    volume, _ = recorded(stack)
    assert ResultCache(tmp_path).get(volume.key) is None
    for off in (ResultCache(None), ResultCache(tmp_path, max_bytes=0)):
        assert not off.enabled and not off.put(volume) and off.get(volume.key) is None
    assert list(tmp_path.iterdir()) == []


# --- size cap and eviction ----------------------------------------------------------------


def test_least_recently_used_entries_go_first(tmp_path):
    volumes = [recorded(small_stack(seed=s), seed=s)[0] for s in range(4)]
    probe = ResultCache(tmp_path / "probe")
    probe.put(volumes[0])
    size = probe.size()
    cache = ResultCache(tmp_path / "cache", max_bytes=int(2.5 * size))
    a, b, c, d = volumes
    for v in (a, b):
        assert cache.put(v)
        time.sleep(0.05)  # distinct modification times, whatever the file system's clock
    assert cache.get(a.key) is not None  # a is now used more recently than b
    time.sleep(0.05)
    assert cache.put(c)
    assert cache.get(b.key) is None  # b was the least recently used
    assert cache.get(a.key) is not None
    time.sleep(0.05)  # c's read must come measurably after a's
    assert cache.get(c.key) is not None
    time.sleep(0.05)
    assert cache.put(d)  # c was read after a: a goes
    kept = {e.path.stem for e in cache.entries()}
    assert kept == {c.key.digest, d.key.digest}
    assert cache.size() <= cache.max_bytes


def test_an_entry_larger_than_the_cap_is_not_kept(tmp_path):
    volume, _ = recorded(small_stack())
    cache = ResultCache(tmp_path, max_bytes=1000)
    assert not cache.put(volume)
    assert cache.entries() == [] and cache.get(volume.key) is None


def test_the_cap_comes_from_the_environment(monkeypatch):
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("500M") == 500 * 1000**2
    assert parse_size("0") == 0 and parse_size("1.5 kib") == 1536 and parse_size("123") == 123
    with pytest.raises(ValueError):
        parse_size("lots")
    monkeypatch.delenv(SIZE_ENV, raising=False)
    assert max_bytes_from_env() == DEFAULT_MAX_BYTES == 2 * 1024**3
    monkeypatch.setenv(SIZE_ENV, "10MiB")
    assert ResultCache(Path("x")).max_bytes == 10 * 1024**2
    monkeypatch.setenv(SIZE_ENV, "a lot")
    assert max_bytes_from_env() == DEFAULT_MAX_BYTES


def test_the_default_cache_lives_in_the_state_cache_dir():
    cache = default_cache()
    assert cache.enabled and cache.folder.parent == paths.cache_dir()
    assert cache.folder.is_relative_to(os.environ[paths.STATE_ENV])


# --- damaged entries ----------------------------------------------------------------------


def _stored(tmp_path):
    stack = small_stack()
    volume, _ = recorded(stack)
    cache = ResultCache(tmp_path)
    assert cache.put(volume)
    return cache, volume, cache.path_for(volume.key)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_entry_is_ignored_and_removed(tmp_path, damage):
    cache, volume, path = _stored(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF  # inside the maps: only the zip CRC can tell
    elif damage == "garbage":
        data = bytearray(b"not a zip file" * 100)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    assert cache.get(volume.key) is None
    assert not path.exists()
    assert cache.put(volume) and cache.get(volume.key) is not None  # and it heals


def test_an_entry_under_the_wrong_name_is_not_served(tmp_path):
    cache, _, path = _stored(tmp_path)
    other = key_for(small_stack(seed=7))
    os.replace(path, cache.path_for(other))  # e.g. a file copied in by hand
    assert cache.get(other) is None
    assert not cache.path_for(other).exists()


def test_an_entry_with_a_missing_score_column_is_removed(tmp_path):
    cache, volume, path = _stored(tmp_path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "score_anomaly_score"}
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    assert cache.get(volume.key) is None and not path.exists()


# --- two processes writing the same key ----------------------------------------------------

WRITER = """
import json, sys
from pathlib import Path
from bvae_viewer.analysis.cache_store import ResultCache
from bvae_viewer.analysis.result_cache import CacheKey, from_npz
key = CacheKey(**json.loads(sys.argv[1]))
volume = from_npz(sys.argv[2], key)
cache = ResultCache(Path(sys.argv[3]), max_bytes=1 << 30)
for _ in range(int(sys.argv[4])):
    assert cache.put(volume)
"""


def test_concurrent_writers_of_one_key_never_leave_a_torn_entry(tmp_path):
    stack = small_stack(n=40, side=64)  # a few MB: writes take long enough to overlap
    volume, _ = recorded(stack)
    source = tmp_path / "source.npz"
    with open(source, "wb") as fh:
        write_npz(volume, fh)
    folder = tmp_path / "cache"
    args = [json.dumps(asdict(volume.key)), str(source), str(folder), "15"]
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, *args], cwd=ROOT,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reader = ResultCache(folder, max_bytes=1 << 30)
    reads = 0
    while any(w.poll() is None for w in writers):
        got = reader.get(volume.key)  # a damaged read would also delete the entry
        if got is not None:
            reads += 1
            assert all(same_scores(a, b) for a, b in zip(got.scores, volume.scores, strict=True))
            np.testing.assert_array_equal(got.maps, volume.maps)
    for w in writers:
        assert w.wait(timeout=120) == 0, w.stderr.read()
    final = reader.get(volume.key)
    assert final is not None and isinstance(final, CachedVolume)
    assert [p.name for p in folder.iterdir()] == [f"{volume.key.digest}.npz"]  # no temp files
    assert reads > 0
