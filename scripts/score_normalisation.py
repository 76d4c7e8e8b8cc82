"""Does normalising the anomaly score by position or by subject rank slices better?

usage: python scripts/score_normalisation.py MODEL VAL_DIR TEST_DIR [TEST_DIR ...]

Every case of each folder (synthetic cases with their segmentations) runs whole through the
app's InferenceEngine. Normal slices of the validation folder give the expected A_pixel at
each position of the model grid (mean and SD of log A_pixel, smoothed by 2 voxels), and each
slice position's usual score relative to its subject. On each test folder the pooled slice
ROC / PR AUC of: the engine's score; the peak of A_pixel as a z-score against that position's
normal spread; the score relative to the subject's own 10th / 25th / 50th percentile; and
that again relative to the usual score at its slice position. Model grids of synthetic cases
share one space (the MNI template's), so a position means the same anatomy in every case.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, roc_auc_score

from bvae_viewer.analysis.evaluation.data import pool_stack
from bvae_viewer.analysis.maps import peak_pixel_score
from bvae_viewer.data.brats import find_cases, load_case
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.nn.engine import InferenceEngine

LOG_EPS = 1e-3
SMOOTH_VOXELS = 2.0
MIN_BRAIN_PX = 30
QUANTILES = (10, 25, 50)
SIZE_BINS = ((0, 20), (20, 100), (100, 400), (400, 128 * 128))


@dataclass
class CaseMaps:
    """One case's brain slices: A_pixel, brain masks, slice labels and engine scores."""

    pixel: np.ndarray  # (Z, S, S) float32
    mask: np.ndarray  # (Z, S, S) bool
    labels: np.ndarray  # (Z,) bool
    score: np.ndarray  # (Z,) float, NaN where the engine left the slice empty
    positions: np.ndarray  # indices of the slices scored here
    tumour_px: np.ndarray  # (Z,) tumour pixels inside the brain on the model grid


def run_folder(engine: InferenceEngine, size: int, folder: Path) -> list[CaseMaps]:
    cases = []
    for case in find_cases(folder):
        labelled = load_case(case, with_seg_grid=True)
        stack = pool_stack(labelled.stack, size)
        seg = labelled.seg_grid
        if seg is None or seg.shape != stack.masks.shape:
            seg = np.zeros(stack.masks.shape, bool)  # no seg, or not at the model's size
        pixel = np.zeros(stack.images.shape, np.float32)
        score = np.full(len(stack.images), np.nan)
        for r in engine.run(stack):
            pixel[r.position] = r.maps.pixel_score
            score[r.position] = r.scores.anomaly_score
        brain = stack.masks.reshape(len(score), -1).sum(axis=1) >= MIN_BRAIN_PX
        keep = np.flatnonzero(np.isfinite(score) & brain)
        tumour_px = ((seg > 0) & stack.masks).reshape(len(score), -1).sum(axis=1)
        cases.append(CaseMaps(pixel, stack.masks, labelled.labels, score, keep, tumour_px))
        print(f"  {folder.name}/{case.case_id}: {len(keep)} slices", file=sys.stderr, flush=True)
    return cases


def position_spread(cases: list[CaseMaps]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of log A_pixel at each voxel over the normal slices, smoothed."""
    sums = np.zeros((3, *cases[0].pixel.shape), np.float64)
    for c in cases:
        weight = (c.mask & ~c.labels[:, None, None]).astype(np.float64)
        value = np.log(c.pixel + LOG_EPS)
        sums += [weight, weight * value, weight * value**2]
    n, s1, s2 = (ndimage.gaussian_filter(a, SMOOTH_VOXELS) for a in sums)
    mean = s1 / np.maximum(n, 1e-6)
    sd = np.sqrt(np.maximum(s2 / np.maximum(n, 1e-6) - mean**2, 0.0))
    # Few subjects reach the brain's edge: floor the SD so a thin estimate cannot explode.
    well_sampled = sums[0] >= max(1.0, len(cases) / 4)
    return mean, np.maximum(sd, np.percentile(sd[well_sampled], 5))


def position_profile(cases: list[CaseMaps], q: int) -> np.ndarray:
    """Median over subjects of a normal slice's log score above its subject's percentile."""
    by_z: dict[int, list[float]] = {}
    for c in cases:
        log_s = np.log(c.score[c.positions])
        base = np.percentile(log_s, q)
        for z, v, abnormal in zip(c.positions, log_s - base, c.labels[c.positions], strict=True):
            if not abnormal:
                by_z.setdefault(int(z), []).append(float(v))
    profile = np.zeros(len(cases[0].score))
    for z, values in by_z.items():
        profile[z] = np.median(values)
    return profile


def normalised_scores(c: CaseMaps, spread, profiles) -> dict[str, np.ndarray]:
    """One test case's slice scores: as the engine gives them and each normalisation."""
    mean, sd = spread
    k = c.positions
    z_map = np.maximum((np.log(c.pixel[k] + LOG_EPS) - mean[k]) / sd[k], 0.0)
    log_s = np.log(c.score[k])
    out = {
        "engine score": c.score[k],
        "peak of A_pixel z-scored by position": np.array(
            [peak_pixel_score(z, m) for z, m in zip(z_map, c.mask[k], strict=True)]
        ),
    }
    for q in QUANTILES:
        base = np.percentile(log_s, q)
        out[f"score over subject's p{q}"] = log_s - base
        out[f"score over subject's p{q} and position"] = log_s - base - profiles[q][k]
    return out


def main(model: Path, val_dir: Path, test_dirs: list[Path]) -> None:
    bundle = load_bundle(model)
    engine = InferenceEngine(bundle, device="cpu", samples=5)
    val = run_folder(engine, bundle.image_size, val_dir)
    spread = position_spread(val)
    profiles = {q: position_profile(val, q) for q in QUANTILES}
    for folder in test_dirs:
        cases = run_folder(engine, bundle.image_size, folder)
        labels = np.concatenate([c.labels[c.positions] for c in cases])
        per_case = [normalised_scores(c, spread, profiles) for c in cases]
        print(f"{folder.name} ({len(cases)} cases, {len(labels)} slices, {labels.sum()} tumour)")
        for name in per_case[0]:
            s = np.concatenate([p[name] for p in per_case])
            auc, pr = roc_auc_score(labels, s), average_precision_score(labels, s)
            print(f"  {name}: ROC AUC {auc:.3f}, PR AUC {pr:.3f}")
        by_size(cases, labels, np.concatenate([p["engine score"] for p in per_case]))


def by_size(cases: list[CaseMaps], labels: np.ndarray, score: np.ndarray) -> None:
    """The engine score's ROC AUC of tumour slices of each size against all normal ones."""
    area = np.concatenate([c.tumour_px[c.positions] for c in cases])
    normal = score[~labels]
    for lo, hi in SIZE_BINS:
        chosen = labels & (area >= lo) & (area < hi)
        if chosen.any():
            y = np.r_[np.ones(chosen.sum()), np.zeros(len(normal))]
            auc = roc_auc_score(y, np.r_[score[chosen], normal])
            size = f"tumour {lo}-{hi - 1} px"
            print(f"  engine score, {size}: {chosen.sum()} slices, ROC AUC {auc:.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
