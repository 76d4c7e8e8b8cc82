"""A tiny MVTec AD category written as PNGs in a test (nothing shipped, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def _texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A smooth RGB stripe pattern with noise: the category's "good" look."""
    _, xx = np.mgrid[: shape[0], : shape[1]]
    base = 0.5 + 0.25 * np.sin(xx / 3.0 + rng.uniform(0, 0.5))
    rgb = np.stack([base, 0.8 * base, 0.6 * base], axis=-1)
    return np.clip(rgb + 0.03 * rng.standard_normal(rgb.shape), 0, 1)


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path)


def write_mvtec_category(
    root: Path, n_train: int = 12, n_good: int = 4, n_defect: int = 4, shape=(40, 48)
) -> Path:
    """CATEGORY/train/good, test/good, test/scratch and ground_truth/scratch masks."""
    rng = np.random.default_rng(0)
    for i in range(n_train):
        _save(root / "train" / "good" / f"{i:03d}.png", _texture(rng, shape))
    for i in range(n_good):
        _save(root / "test" / "good" / f"{i:03d}.png", _texture(rng, shape))
    for i in range(n_defect):
        image = _texture(rng, shape)
        mask = np.zeros(shape, bool)
        mask[5 + 2 * i : 9 + 2 * i, 4:40] = True  # a bright scratch across the part
        image[mask] = 1.0
        _save(root / "test" / "scratch" / f"{i:03d}.png", image)
        _save(root / "ground_truth" / "scratch" / f"{i:03d}_mask.png", mask.astype(float))
    return root
