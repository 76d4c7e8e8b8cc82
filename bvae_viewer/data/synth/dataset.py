"""Many synthetic cases in the BraTS layout, in parallel, plus the bundled demo case."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from bvae_viewer.data.synth.anatomies import MNI152, training_anatomies
from bvae_viewer.data.synth.anatomy import SynthError, load_anatomy
from bvae_viewer.data.synth.case import generate_case
from bvae_viewer.data.synth.deform import GRID_SHAPE, STORED_AFFINE
from bvae_viewer.data.synth.graders import GRADERS, grader_masks
from bvae_viewer.data.synth.tumour import TumourSpec
from bvae_viewer.data.synth.variation import CLASSIC, VARIETIES, WIDE
from bvae_viewer.data.synth.writer import nifti_gz_bytes, write_case, write_json_atomic

# 1.1: CASE_graders.nii.gz (several plausible annotations) beside each seg.
# 1.2: the wide variety (variation.py) and further anatomies; classic data unchanged.
GENERATOR_VERSION = "1.2.0"
MANIFEST_NAME = "manifest.json"
CASE_PREFIX = "SYN_"
_CASE_NAME = re.compile(r"^SYN_\d{5}$")
DEMO_SEED = 2024
GRADER_STREAM = 0x6A0E  # spawn key of the grader masks' seed


def case_id(index: int) -> str:
    return f"{CASE_PREFIX}{index:05d}"


def case_seed(seed: int, index: int) -> int:
    """The seed of case ``index``: independent streams, and stable when N changes."""
    return int(np.random.SeedSequence(entropy=seed, spawn_key=(index,)).generate_state(1)[0])


def healthy_cases(seed: int, cases: int, healthy_fraction: float) -> np.ndarray:
    """Which cases have no tumour: exactly round(fraction * N) of them, at random positions."""
    flags = np.zeros(cases, dtype=bool)
    n = round(healthy_fraction * cases)
    order = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(2**31,)))
    flags[order.permutation(cases)[:n]] = True
    return flags


def grader_seed(seed: int) -> int:
    """The grader masks' seed: their own stream, so the image and seg do not change."""
    stream = np.random.SeedSequence(entropy=seed, spawn_key=(GRADER_STREAM,))
    return int(stream.generate_state(1)[0])


def _make_one(root: str, index: int, seed: int, has_tumour: bool, variety: str) -> dict:
    case = generate_case(seed, has_tumour, variety=variety)
    name = case_id(index)
    graders = grader_masks(case.seg, grader_seed(seed), GRADERS)
    write_case(Path(root), name, case.image, case.seg, graders)
    return {"id": name, "seed": seed, **case.info}


def _remove_stale(out: Path, keep: set[str]) -> None:
    for folder in out.iterdir():
        if folder.is_dir() and _CASE_NAME.match(folder.name) and folder.name not in keep:
            shutil.rmtree(folder)


def synthesize(
    out: Path,
    cases: int,
    seed: int,
    workers: int | None = None,
    healthy_fraction: float = 0.2,
    progress: Callable[[int, int], None] | None = None,
    variety: str = CLASSIC,
) -> Path:
    """Write a BraTS-layout folder and return the manifest path (variety: see variation.py)."""
    if cases < 1:
        raise SynthError("The number of synthetic cases must be at least 1.")
    if not 0.0 <= healthy_fraction <= 1.0:
        raise SynthError("The fraction of healthy cases must be between 0 and 1.")
    if variety not in VARIETIES:
        raise SynthError(f"Unknown variety {variety!r}: choose from {', '.join(VARIETIES)}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST_NAME
    manifest.unlink(missing_ok=True)  # a stale manifest must not describe new files
    load_anatomy()  # fail early, in this process, if nilearn is missing
    heads = training_anatomies() if variety == WIDE else (MNI152,)
    healthy = healthy_cases(seed, cases, healthy_fraction)
    jobs = [(str(out), i, case_seed(seed, i), not bool(healthy[i]), variety)
            for i in range(cases)]
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)

    records: list[dict] = []
    if workers <= 1:
        for job in jobs:
            records.append(_make_one(*job))
            if progress:
                progress(len(records), cases)
    else:
        # spawn: safe whatever the caller has imported (torch, Qt) and on every platform.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_make_one, *job) for job in jobs]
            for future in as_completed(futures):
                records.append(future.result())
                if progress:
                    progress(len(records), cases)
    records.sort(key=lambda r: r["id"])
    _remove_stale(out, {r["id"] for r in records})
    payload = {
        "generator": "bvae_viewer.data.synth",
        "generator_version": GENERATOR_VERSION,
        "template": "MNI152 2009a (nilearn)",
        "variety": variety,
        "anatomies": list(heads),
        "seed": seed,
        "n_cases": cases,
        "healthy_fraction": healthy_fraction,
        "grid": {"shape": list(GRID_SHAPE), "spacing_mm": [1.0, 1.0, 1.0],
                 "affine": STORED_AFFINE.tolist()},
        "labels": {"1": "necrotic / non-enhancing core", "2": "oedema", "4": "enhancing"},
        "graders": {"n": GRADERS, "file": "CASE/CASE_graders.nii.gz",
                    "what": "whole-tumour masks (labels 1, 2, 4) of plausible graders, 4D uint8"},
        "cases": records,
    }
    return write_json_atomic(manifest, payload)


def demo_tumour() -> TumourSpec:
    """A clearly visible ring-enhancing tumour with oedema in the left frontoparietal lobe."""
    anatomy = load_anatomy()
    site = np.array([-30.0, -10.0, 30.0]) - anatomy.mni_origin  # MNI mm -> template voxel
    return TumourSpec(
        kind="ring", site=tuple(float(v) for v in site), radius=14.0, axes=(1.1, 0.95, 1.0),
        angles=(10.0, -20.0, 30.0), irregularity=0.25, necrosis=0.6, oedema=16.0, mass=0.35,
        core_level=1.7, necrosis_level=0.35, oedema_level=0.88,
    )


def make_demo_case(out_dir: Path, seed: int = DEMO_SEED) -> Path:
    """Write out_dir/demo_t1ce.nii.gz (int16) and demo_seg.nii.gz; return the T1ce path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    case = generate_case(seed, True, tumour=demo_tumour())
    image_path = out_dir / "demo_t1ce.nii.gz"
    for path, data in ((image_path, case.image), (out_dir / "demo_seg.nii.gz", case.seg)):
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(nifti_gz_bytes(data))
        os.replace(tmp, path)
    return image_path
