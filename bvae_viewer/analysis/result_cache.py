"""One analysed volume as a cache entry: its key, its slices, and its .npz encoding.

What is stored is the engine's output, not the triage: per slice the SliceScores at full
precision (so a cached run writes the very same slices.csv and case.json numbers as a fresh
one), and per brain slice the five computed maps of its MapSet in float16 beside its brain
mask. Decisions are made again from the scores on every load, so a change of thresholds never
needs a new run. The input image (MapSet.original) is not stored: every caller holds the
SliceStack it came from, and its float32 values beat a float16 copy.

The disk store (size cap, LRU eviction, atomic writes) is in analysis/cache_store.py.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from bvae_viewer import __version__
from bvae_viewer.analysis.maps import MapSet, SliceResult, SliceScores
from bvae_viewer.data.preprocess import SliceStack

# Bump when the layout of an entry changes: old entries then simply miss. Format 2: every
# entry carries its maps' measured display levels (map_p99), whoever wrote it.
CACHE_FORMAT = 3  # 3: SliceScores.score_spread
# The maps the engine computes; MapSet.original and .brain_mask come from the stack.
MAP_FIELDS = ("reconstruction", "aleatoric", "epistemic", "error", "pixel_score")
_SCORE_FIELDS = tuple(f.name for f in fields(SliceScores))
_SCORE_TYPES = {"slice_index": int, "empty": bool}  # every other field is a float


class CacheEntryError(Exception):
    """A stored entry cannot be read back as exactly what was written (damaged, foreign)."""


def stack_digest(stack: SliceStack) -> str:
    """sha256 of what the engine sees: images, masks, slice indices and brain fractions.

    The volume's content fingerprint alone would miss a change of preprocessing (a new
    normalisation gives new results from the same file); this covers it.
    """
    digest = hashlib.sha256()
    for array in (stack.images, stack.masks, stack.slice_index, stack.brain_fraction):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _json_digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    """Everything that changes an analysis result; two runs with equal keys agree exactly."""

    case_hash: str  # content fingerprint of the volume (review/identity.case_fingerprint)
    stack_hash: str  # the preprocessed slices (stack_digest)
    model_sha256: str  # the weights file
    model_config: str  # sha256 of the model's config as read from model.json
    alpha: float  # eq. 15's weight: lives in model.json, not in the weights
    reduction: str  # eq. 15's A_pixel reduction (mean | peak): model.json too
    samples: int  # K
    seed: int  # the engine's noise seed
    device_kind: str  # device, threads, torch: kernels differ in their last digits
    code_version: str = __version__
    format: int = CACHE_FORMAT

    @property
    def digest(self) -> str:
        """The entry's name: sha256 of all the fields."""
        return _json_digest(asdict(self))


def make_key(
    *,
    case_hash: str,
    stack: SliceStack,
    model_sha256: str,
    model_config: Mapping[str, Any],
    alpha: float,
    samples: int,
    seed: int,
    device_kind: str,
    reduction: str = "mean",
) -> CacheKey:
    """The key of one analysis (pipeline/cache.cache_key_for fills it from a bundle and engine)."""
    return CacheKey(
        case_hash=case_hash,
        stack_hash=stack_digest(stack),
        model_sha256=model_sha256,
        model_config=_json_digest(dict(model_config)),
        alpha=float(alpha),
        reduction=reduction,
        samples=int(samples),
        seed=int(seed),
        device_kind=device_kind,
    )


def _encode(array: np.ndarray) -> tuple[np.ndarray, float]:
    """float16 scaled by the map's largest magnitude: the error is at most 2^-11 of that
    maximum, and pixel scores far above float16's 65504 do not overflow to infinity."""
    scale = float(np.max(np.abs(array))) if array.size else 0.0
    if scale == 0.0:
        return np.zeros(array.shape, np.float16), 1.0
    return (array / scale).astype(np.float16), scale


@dataclass(frozen=True)
class CachedVolume:
    """The engine's output for a whole SliceStack, as stored in and read from the cache."""

    key: CacheKey
    scores: tuple[SliceScores, ...]  # one per stack position, in position order
    positions: np.ndarray  # (B,) int: the stack positions that have maps (brain slices)
    maps: np.ndarray  # (B, len(MAP_FIELDS), S, S) float16, each divided by its scale
    scales: np.ndarray  # (B, len(MAP_FIELDS)) float32
    masks: np.ndarray  # (B, S, S) bool brain masks
    device_label: str  # where it was computed, e.g. "CPU (2 threads)"
    notes: tuple[str, ...] = ()  # the engine's notes (batch size halved, ...)
    map_p99: dict[str, float] = field(default_factory=dict)  # measured display levels
    created: float = 0.0  # time.time() of the computation

    def __len__(self) -> int:
        return len(self.scores)

    def mapset(self, position: int, original: np.ndarray) -> MapSet:
        """The maps of one stack position; original is stack.images[position]."""
        original = np.asarray(original, dtype=np.float32)
        where = np.flatnonzero(self.positions == position)
        if where.size == 0:  # a slice the engine skipped: no brain, zero maps
            return MapSet.empty(original, np.zeros(original.shape, dtype=bool))
        i = int(where[0])
        decoded = [
            self.maps[i, j].astype(np.float32) * np.float32(self.scales[i, j])
            for j in range(len(MAP_FIELDS))
        ]
        return MapSet(original, *decoded, brain_mask=self.masks[i].copy())

    def slices(
        self, stack: SliceStack, order: Sequence[int] | None = None
    ) -> Iterator[SliceResult]:
        """Every slice, ``order`` first and then the rest by position, as the engine streams."""
        if len(stack) != len(self):
            raise ValueError(f"The stack has {len(stack)} slices, the entry {len(self)}.")
        seen: set[int] = set()
        for p in [*(order or ()), *range(len(self))]:
            p = int(p)
            if p in seen or not 0 <= p < len(self):
                continue
            seen.add(p)
            yield SliceResult(p, self.mapset(p, stack.images[p]), self.scores[p])


class SliceRecorder:
    """Collects a stack's slices as the engine streams them, in any order, for the cache.

    Maps are encoded to float16 on arrival, so the float32 batch arrays are not kept alive.
    """

    def __init__(self, n_slices: int) -> None:
        self.n_slices = n_slices
        self._scores: dict[int, SliceScores] = {}
        self._maps: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def complete(self) -> bool:
        """True once every position has been added (a cancelled run never is)."""
        return len(self._scores) == self.n_slices

    def add(self, position: int, maps: MapSet, scores: SliceScores) -> None:
        """Record one slice: an engine SliceResult's position, maps and scores."""
        self._scores[int(position)] = scores
        if scores.empty:
            return
        encoded = [_encode(getattr(maps, name)) for name in MAP_FIELDS]
        self._maps[int(position)] = (
            np.stack([e[0] for e in encoded]),
            np.array([e[1] for e in encoded], dtype=np.float32),
            np.array(maps.brain_mask, dtype=bool),
        )

    def finish(
        self,
        key: CacheKey,
        device_label: str,
        notes: Sequence[str] = (),
        map_p99: Mapping[str, float] | None = None,
    ) -> CachedVolume:
        """The complete volume (ValueError when slices are missing)."""
        if not self.complete:
            raise ValueError(f"{len(self._scores)} of {self.n_slices} slices were recorded.")
        positions = np.array(sorted(self._maps), dtype=np.int64)
        if positions.size:
            maps = np.stack([self._maps[p][0] for p in positions])
            scales = np.stack([self._maps[p][1] for p in positions])
            masks = np.stack([self._maps[p][2] for p in positions])
        else:  # a volume without brain: nothing but scores
            maps = np.zeros((0, len(MAP_FIELDS), 0, 0), np.float16)
            scales = np.zeros((0, len(MAP_FIELDS)), np.float32)
            masks = np.zeros((0, 0, 0), bool)
        return CachedVolume(
            key=key,
            scores=tuple(self._scores[p] for p in range(self.n_slices)),
            positions=positions,
            maps=maps,
            scales=scales,
            masks=masks,
            device_label=device_label,
            notes=tuple(notes),
            map_p99={k: float(v) for k, v in (map_p99 or {}).items()},
            created=time.time(),
        )


# --- the .npz encoding (no pickle: every member is a plain array) -----------------------


def write_npz(volume: CachedVolume, target: Any) -> None:
    """Write the entry to a path or binary file as an uncompressed .npz: a hit must be fast,
    and zlib would cost about a second per volume on a small CPU to save a third of the disk."""
    meta = {
        "format": CACHE_FORMAT,
        "key": volume.key.digest,
        "key_fields": asdict(volume.key),
        "n_slices": len(volume.scores),
        "device_label": volume.device_label,
        "notes": list(volume.notes),
        "map_p99": volume.map_p99,
        "created": volume.created,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "positions": volume.positions,
        "maps": volume.maps,
        "scales": volume.scales,
        "masks": volume.masks,
    }
    for name in _SCORE_FIELDS:
        kind = _SCORE_TYPES.get(name, float)
        dtype = {int: np.int64, bool: np.bool_, float: np.float64}[kind]
        arrays[f"score_{name}"] = np.array([getattr(s, name) for s in volume.scores], dtype)
    np.savez(target, **arrays)  # type: ignore[arg-type]


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise CacheEntryError(what)


def from_npz(source: Any, key: CacheKey) -> CachedVolume:
    """Read an entry written by write_npz for this key; CacheEntryError if it is not
    exactly that (a damaged file raises whatever numpy or zipfile raise, callers catch all)."""
    with np.load(source, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        _expect(meta.get("format") == CACHE_FORMAT, "format version")
        _expect(meta.get("key") == key.digest, "key")
        _expect(meta.get("key_fields") == json.loads(json.dumps(asdict(key))), "key fields")
        n = int(meta["n_slices"])
        columns = {}
        for name in _SCORE_FIELDS:
            column = np.array(data[f"score_{name}"])
            kind = _SCORE_TYPES.get(name, float)
            dtype_kind = {int: "i", bool: "b", float: "f"}[kind]
            _expect(column.shape == (n,) and column.dtype.kind == dtype_kind, f"scores {name}")
            columns[name] = [kind(v) for v in column.tolist()]
        positions = np.array(data["positions"])
        maps = np.array(data["maps"])
        scales = np.array(data["scales"])
        masks = np.array(data["masks"])
    b = positions.shape[0] if positions.ndim == 1 else -1
    _expect(positions.dtype.kind == "i" and b >= 0, "positions")
    _expect(maps.dtype == np.float16 and maps.shape[:2] == (b, len(MAP_FIELDS)), "maps")
    _expect(scales.dtype == np.float32 and scales.shape == (b, len(MAP_FIELDS)), "scales")
    _expect(masks.dtype == np.bool_ and masks.shape == (b, *maps.shape[2:]), "masks")
    _expect(bool(np.all((positions >= 0) & (positions < n))), "position range")
    _expect(bool(np.all(np.isfinite(scales))), "scales finite")
    scores = tuple(
        SliceScores(**{name: columns[name][i] for name in _SCORE_FIELDS}) for i in range(n)
    )
    return CachedVolume(
        key=key,
        scores=scores,
        positions=positions.astype(np.int64),
        maps=maps,
        scales=scales,
        masks=masks,
        device_label=str(meta.get("device_label", "")),
        notes=tuple(str(v) for v in meta.get("notes", ())),
        map_p99={str(k): float(v) for k, v in dict(meta.get("map_p99", {})).items()},
        created=float(meta.get("created", 0.0)),
    )
