"""Unpack a gzip file in memory, verifying every member's CRC-32 and length.

nibabel streams .nii.gz through Python's gzip module and can miss damage inside the
stream, so the whole stream is checked here before any voxel is trusted. A caller can
inspect the first bytes (the image header) before the rest is unpacked, which keeps an
absurd header from triggering a huge decompression.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

from bvae_viewer.io import messages
from bvae_viewer.io.errors import CorruptVolumeError, TruncatedVolumeError

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip wrapper: zlib checks the CRC-32 and ISIZE trailer


def gunzip_verified(
    path: Path, compressed: bytes, head_size: int, on_head: Callable[[bytes], None]
) -> bytes:
    """Return the unpacked bytes; ``on_head`` sees the first ``head_size`` bytes first."""
    try:
        return _gunzip(compressed, head_size, on_head)
    except EOFError:
        raise TruncatedVolumeError(messages.truncated_gzip(path), path) from None
    except zlib.error:
        raise CorruptVolumeError(messages.bad_checksum(path), path) from None


def _gunzip(compressed: bytes, head_size: int, on_head: Callable[[bytes], None]) -> bytes:
    unpacker = zlib.decompressobj(_GZIP_WBITS)
    head = unpacker.decompress(compressed, head_size)
    on_head(head)
    parts = [head, unpacker.decompress(unpacker.unconsumed_tail)]
    _require_end(unpacker)
    rest = unpacker.unused_data
    # No flush(): decompress() without a limit returns all output, and flush() would append
    # the unconsumed tail to unused_data a second time.
    # Concatenated members are valid gzip; trailing zero padding is tolerated as gzip does.
    while rest.strip(b"\x00"):
        unpacker = zlib.decompressobj(_GZIP_WBITS)
        parts.append(unpacker.decompress(rest))
        _require_end(unpacker)
        rest = unpacker.unused_data
    return b"".join(parts)


def _require_end(unpacker: zlib._Decompress) -> None:
    if not unpacker.eof:
        raise EOFError("gzip stream ends before its trailer")
