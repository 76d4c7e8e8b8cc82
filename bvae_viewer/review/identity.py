"""Case identity without patient identity: a hash of the image content."""

from __future__ import annotations

import hashlib

import numpy as np

from bvae_viewer.io.volume import Volume


def case_fingerprint(volume: Volume) -> str:
    """sha256 of voxel values, shape and spacing: the same scan gives the same key whatever
    its file name, and the key reveals nothing about the patient."""
    digest = hashlib.sha256()
    digest.update(repr((volume.shape, tuple(round(s, 4) for s in volume.spacing))).encode())
    digest.update(np.ascontiguousarray(volume.data, dtype=np.float32).tobytes())
    return digest.hexdigest()
