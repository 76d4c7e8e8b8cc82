"""Where the raw voxels of a MetaImage or NRRD file live, to catch truncation ITK might miss.

Only uncompressed data in one file is described; anything else returns None and is left
to ITK (compressed data fails its own decoder when cut short).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_MAX_HEADER = 64 * 1024  # headers are a few hundred bytes; never scan further


@dataclass(frozen=True)
class RawData:
    """Raw voxels in ``file``, starting ``offset`` bytes in (None: they end at end of file)."""

    file: Path
    offset: int | None


def locate_raw_data(path: Path) -> RawData | None:
    """Locate uncompressed voxel data of a .mha/.mhd/.nrrd/.nhdr file, or None if unknown."""
    with path.open("rb") as stream:
        head = stream.read(_MAX_HEADER)
    try:
        return _nrrd(path, head) if head.startswith(b"NRRD") else _metaimage(path, head)
    except (ValueError, KeyError):
        return None  # an odd header: ITK decides


def available_bytes(raw: RawData) -> int:
    """Bytes of voxel data present on disk (for a data-at-end file, the whole file)."""
    size = raw.file.stat().st_size if raw.file.is_file() else 0
    return size if raw.offset is None else max(size - raw.offset, 0)


def _metaimage(path: Path, head: bytes) -> RawData | None:
    fields: dict[str, str] = {}
    end = 0
    for match in re.finditer(rb"([^\r\n]*)(\r\n|\n|\r)", head):
        key, _, value = match.group(1).decode("latin-1").partition("=")
        fields[key.strip().lower()] = value.strip()
        end = match.end()
        if key.strip().lower() == "elementdatafile":
            break
    else:
        return None
    if fields.get("compresseddata", "false").lower() == "true":
        return None
    data_file = fields["elementdatafile"]
    header_size = int(fields.get("headersize", "0") or 0)
    if data_file.upper() == "LOCAL":
        return RawData(path, None if header_size == -1 else end + max(header_size, 0))
    if data_file.upper().startswith("LIST") or "%" in data_file or " " in data_file:
        return None
    return RawData(path.parent / data_file, None if header_size == -1 else header_size)


def _nrrd(path: Path, head: bytes) -> RawData | None:
    blank = re.search(rb"\r?\n\r?\n", head)
    if blank is None:
        return None
    fields: dict[str, str] = {}
    for line in head[: blank.start()].decode("latin-1").splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key.strip().lower().replace(" ", "")] = value.lstrip("=").strip()
    if fields.get("encoding", "raw") != "raw" or int(fields.get("lineskip", "0")) != 0:
        return None
    skip = int(fields.get("byteskip", "0"))
    data_file = fields.get("datafile")
    if data_file is None:
        return RawData(path, None if skip == -1 else blank.end() + skip)
    if data_file.upper().startswith("LIST") or " " in data_file or "%" in data_file:
        return None
    return RawData(path.parent / data_file, None if skip == -1 else skip)
