"""The per-volume result cache on disk: one .npz per key, a size cap, LRU eviction.

The cache is an optimisation and nothing more: every failure (a damaged entry, a full or
read-only disk, a race with another process) is logged and answered as a miss, never raised.
Entries are written to a temporary file in the same folder and renamed into place, so a
reader sees a whole entry or none; two processes writing one key both write whole files and
the last rename wins. Last use is the file's modification time, refreshed on every hit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.result_cache import CachedVolume, CacheKey, from_npz, write_npz

log = logging.getLogger(__name__)

SIZE_ENV = "BVAE_VIEWER_CACHE_SIZE"  # e.g. "2GiB", "500M", "0" (off); bytes without a unit
DEFAULT_MAX_BYTES = 2 * 1024**3
SUBFOLDER = "results"
_SUFFIX = ".npz"
_TMP_SUFFIX = ".tmp"
_STALE_TMP_S = 3600.0  # a temp file this old belongs to a writer that died
_UNITS = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "t": 1000**4,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
    "ti": 1024**4,
}


def parse_size(text: str) -> int:
    """'2GiB' -> 2147483648, '500M' -> 500000000, '0' -> 0 (ValueError otherwise)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def max_bytes_from_env() -> int:
    """The cap from BVAE_VIEWER_CACHE_SIZE, or the default when unset or unreadable."""
    raw = os.environ.get(SIZE_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(raw)
    except ValueError:
        log.warning(
            "%s=%r is not a size (e.g. 2GiB); using %d bytes", SIZE_ENV, raw, DEFAULT_MAX_BYTES
        )
        return DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class EntryInfo:
    """One stored entry as the folder lists it."""

    path: Path
    size: int
    last_used: float  # the file's mtime


class ResultCache:
    """get/put CachedVolumes by CacheKey in one folder, at most max_bytes in all.

    folder None (or max_bytes 0) is a disabled cache: every get misses, every put is dropped.
    """

    def __init__(self, folder: Path | None, max_bytes: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_bytes = max_bytes_from_env() if max_bytes is None else max(0, int(max_bytes))

    @property
    def enabled(self) -> bool:
        return self.folder is not None and self.max_bytes > 0

    def path_for(self, key: CacheKey) -> Path:
        """Where the entry of key lives (whether or not it exists)."""
        if self.folder is None:
            raise ValueError("the cache is disabled")
        return self.folder / f"{key.digest}{_SUFFIX}"

    # --- reading -------------------------------------------------------------------------
    def get(self, key: CacheKey) -> CachedVolume | None:
        """The stored volume for key, or None; a damaged entry is removed and misses."""
        if not self.enabled:
            return None
        path = self.path_for(key)
        try:
            with open(path, "rb") as fh:
                volume = from_npz(fh, key)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file raises anything numpy/zipfile can raise
            log.warning(
                "result cache: dropping unreadable entry %s (%s: %s)",
                path.name,
                type(exc).__name__,
                exc,
            )
            self._remove(path)
            return None
        # Last use, for the LRU order; evicted meanwhile or a read-only cache: the hit stands.
        with contextlib.suppress(OSError):
            os.utime(path)
        return volume

    # --- writing -------------------------------------------------------------------------
    def put(self, volume: CachedVolume) -> bool:
        """Store volume under its key, then evict down to the cap; False if not stored."""
        if not self.enabled or self.folder is None:
            return False
        if not np.all(np.isfinite(volume.scales)):
            log.warning(
                "result cache: not storing %s: its maps are not finite", volume.key.digest[:12]
            )
            return False
        path = self.path_for(volume.key)
        tmp: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{volume.key.digest[:16]}.", suffix=_TMP_SUFFIX, dir=self.folder
            )
            tmp = Path(name)
            with os.fdopen(fd, "wb") as fh:
                # No fsync: after a power cut a torn entry fails its zip CRC and is dropped.
                write_npz(volume, fh)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            log.warning("result cache: cannot store %s in %s (%s)", path.name, self.folder, exc)
            return False
        finally:
            if tmp is not None:
                self._remove(tmp)
        self.evict(keep=path)
        return path.exists()

    def entries(self) -> list[EntryInfo]:
        """Stored entries, least recently used first."""
        if self.folder is None:
            return []
        out = []
        try:
            candidates = list(self.folder.glob(f"*{_SUFFIX}"))
        except OSError:
            return []
        for path in candidates:
            try:
                stat = path.stat()
            except OSError:
                continue  # removed by another process meanwhile
            out.append(EntryInfo(path, stat.st_size, stat.st_mtime))
        return sorted(out, key=lambda e: (e.last_used, e.path.name))

    def size(self) -> int:
        """Bytes held by the stored entries."""
        return sum(e.size for e in self.entries())

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Remove least recently used entries until the total fits max_bytes.

        keep (the entry just written) goes last: it is removed only if it alone is too big.
        Also removes temporary files left by writers that died. Returns what was removed.
        """
        removed: list[Path] = []
        entries = self.entries()
        total = sum(e.size for e in entries)
        order = [e for e in entries if e.path != keep] + [e for e in entries if e.path == keep]
        for entry in order:
            if total <= self.max_bytes:
                break
            if self._remove(entry.path):
                removed.append(entry.path)
                log.info("result cache: evicted %s (%d bytes)", entry.path.name, entry.size)
            total -= entry.size
        self._remove_stale_temporaries()
        return removed

    def clear(self) -> None:
        """Remove every entry."""
        for entry in self.entries():
            self._remove(entry.path)

    def _remove_stale_temporaries(self) -> None:
        if self.folder is None:
            return
        cutoff = time.time() - _STALE_TMP_S
        try:
            temporaries = list(self.folder.glob(f".*{_TMP_SUFFIX}"))
        except OSError:
            return
        for tmp in temporaries:
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:
                continue

    @staticmethod
    def _remove(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:  # e.g. a read-only cache folder, or Windows holding it open
            log.warning("result cache: cannot remove %s (%s)", path, exc)
            return False


def default_cache() -> ResultCache:
    """The user's cache (paths.cache_dir()/results, capped by BVAE_VIEWER_CACHE_SIZE);
    a disabled one when that folder cannot be made."""
    from bvae_viewer import paths  # platformdirs is only needed here

    try:
        folder = paths.cache_dir() / SUBFOLDER
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("result cache disabled: cannot use the cache folder (%s)", exc)
        return ResultCache(None)
    return ResultCache(folder)
