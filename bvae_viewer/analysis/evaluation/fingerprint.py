"""What an evaluation's data is, for the resume check: its contents, not the folder's path.

A run of several hours spans sessions, and the next session may have the data at another
path (a fresh machine, a copied folder): the path says nothing about whether the subjects
are the same. Generated data is named by its recipe (the generator's manifest: its version,
seed and every case's parameters), so regenerating it anywhere is the same data; any other
folder by the bytes of its files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST = "manifest.json"
SYNTH_GENERATOR = "bvae_viewer.data.synth"
CHUNK = 1 << 20


def data_fingerprint(root: Path, outside: Path | None = None) -> str:
    """The data's name: manifest:HEX for a folder the synthetic generator wrote, else
    files:HEX (hidden files and those under ``outside``, the run's own output folder if it
    lies inside the data, left out)."""
    root = Path(root)
    if is_generated(root):
        return "manifest:" + hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()[:16]
    digest = hashlib.sha256()
    for path in _data_files(root, None if outside is None else Path(outside).resolve()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    return "files:" + digest.hexdigest()[:16]


def is_generated(root: Path) -> bool:
    """Whether the synthetic generator wrote this folder (its manifest says so)."""
    try:
        text = (Path(root) / MANIFEST).read_text(encoding="utf-8")
        generator = json.loads(text).get("generator", "")
    except (OSError, ValueError, AttributeError):
        return False
    return str(generator).startswith(SYNTH_GENERATOR)


def _data_files(root: Path, outside: Path | None) -> list[Path]:
    """Every file under root but hidden ones (a viewer's or the OS's, not data)."""
    named = {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and (outside is None or not p.resolve().is_relative_to(outside))
    }
    visible = [name for name in named if not any(s.startswith(".") for s in name.split("/"))]
    return [named[name] for name in sorted(visible)]
