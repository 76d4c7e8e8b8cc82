"""Writing cases and the manifest: byte-reproducible, and never half-written."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

from bvae_viewer.data.synth.deform import STORED_AFFINE

GRADERS_SUFFIX = "_graders.nii.gz"
# Fast: the noisy brain barely compresses further at higher levels.
_GZIP_LEVEL = 4


def nifti_gz_bytes(data: np.ndarray, affine: np.ndarray = STORED_AFFINE) -> bytes:
    """A .nii.gz file as bytes, with no timestamp or file name inside (same data, same bytes)."""
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return gzip.compress(image.to_bytes(), compresslevel=_GZIP_LEVEL, mtime=0)


def write_case(
    root: Path, case_id: str, image: np.ndarray, seg: np.ndarray, graders: np.ndarray | None = None
) -> Path:
    """Write CASE/CASE_t1ce.nii.gz and CASE/CASE_seg.nii.gz via a temporary folder and a rename.

    ``graders``: (n, *seg.shape) grader masks, stored beside the seg as CASE_graders.nii.gz,
    a 4D uint8 volume with the graders on the last axis (the NIfTI convention).
    """
    final = root / case_id
    partial = root / f".{case_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / f"{case_id}_t1ce.nii.gz").write_bytes(nifti_gz_bytes(image))
    (partial / f"{case_id}_seg.nii.gz").write_bytes(nifti_gz_bytes(seg))
    if graders is not None:
        stacked = np.ascontiguousarray(np.moveaxis(graders.astype(np.uint8), 0, -1))
        (partial / f"{case_id}{GRADERS_SUFFIX}").write_bytes(nifti_gz_bytes(stacked))
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return final


def write_json_atomic(path: Path, payload: dict) -> Path:
    """Write JSON to a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
