"""MVTec AD folder layout: one category's good training images and labelled test images.

    CATEGORY/train/good/*.png
    CATEGORY/test/good/*.png,  CATEGORY/test/<defect>/*.png
    CATEGORY/ground_truth/<defect>/<name>_mask.png   (one per defective test image)

Images are converted to grayscale (luminance, as PIL's "L" mode) because every network
here takes one channel; colour-only defects (e.g. carpet/color) lose most of their signal,
which the report's readers should know. They are resized to ``size`` x ``size`` by area
averaging (PIL's BOX filter) and scaled to [0, 1]. Ground-truth masks are resized the same
way and a pixel counts as defective if any of its area was, so small defects do not vanish.

Pillow is not a direct dependency: matplotlib (one) requires it, so it is always present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bvae_viewer.data.brats import DatasetError

GOOD = "good"
SUFFIXES = (".png", ".PNG")
MASK_SUFFIX = "_mask.png"


class MVTecError(DatasetError):
    """A folder that is not a usable MVTec AD category; the message says why (a
    DatasetError, so the command line reports it as bad input, exit code 2)."""


@dataclass(frozen=True)
class MVTecSplit:
    """Images of one part (train or test), in a stable order (defect, then file name)."""

    images: np.ndarray  # (N, S, S) float32 in [0, 1], grayscale
    masks: np.ndarray  # (N, S, S) bool ground-truth defect pixels (all False when good)
    labels: np.ndarray  # (N,) bool, True for a defective image
    defects: np.ndarray  # (N,) str: "good" or the defect type (the test subfolder)
    names: np.ndarray  # (N,) str: "<defect>/<file stem>", unique within the split

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class MVTecCategory:
    name: str  # the category folder's name, e.g. "bottle"
    root: Path
    size: int
    train: MVTecSplit  # train/good only
    test: MVTecSplit


def _pngs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def is_mvtec_category(root: Path) -> bool:
    """True when the folder has the layout's train/good and test folders."""
    root = Path(root)
    return (root / "train" / GOOD).is_dir() and (root / "test").is_dir()


def _read(path: Path, size: int) -> np.ndarray:
    """(size, size) float32 in [0, 1]: grayscale, area-resized."""
    try:
        with Image.open(path) as img:
            img = img.convert("L")  # RGB to luminance; 16-bit and palette images too
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BOX)
            return np.asarray(img, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise MVTecError(f"Cannot read the image {path}: {exc}.") from None


def _read_mask(path: Path, size: int) -> np.ndarray:
    return _read(path, size) > 0  # any defective area in the resized pixel


def _split(
    items: list[tuple[str, Path, Path | None]], size: int, what: str, root: Path
) -> MVTecSplit:
    if not items:
        raise MVTecError(f"{root} has no PNG images in {what}.")
    images = np.stack([_read(p, size) for _, p, _ in items])
    masks = np.stack(
        [_read_mask(m, size) if m else np.zeros((size, size), bool) for _, _, m in items]
    )
    defects = np.array([d for d, _, _ in items])
    names = np.array([f"{d}/{p.stem}" for d, p, _ in items])
    return MVTecSplit(images, masks, defects != GOOD, defects, names)


def _test_items(root: Path) -> list[tuple[str, Path, Path | None]]:
    items: list[tuple[str, Path, Path | None]] = []
    for folder in sorted(p for p in (root / "test").iterdir() if p.is_dir()):
        defect = folder.name
        for png in _pngs(folder):
            mask = None
            if defect != GOOD:
                mask = root / "ground_truth" / defect / f"{png.stem}{MASK_SUFFIX}"
                if not mask.is_file():
                    raise MVTecError(
                        f"The ground-truth mask {mask} is missing: every "
                        "test/<defect>/NAME.png needs ground_truth/<defect>/NAME_mask.png."
                    )
            items.append((defect, png, mask))
    return items


def load_mvtec_category(root: Path, size: int = 128) -> MVTecCategory:
    """One category folder, every image grayscale at ``size`` px (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise MVTecError(f"The MVTec AD category folder {root} does not exist.")
    if not (root / "train" / GOOD).is_dir():
        raise MVTecError(
            f"{root} is not an MVTec AD category: it has no train/good folder of PNG images."
        )
    if not (root / "test").is_dir():
        raise MVTecError(
            f"{root} has no test folder: an MVTec AD category has test/good and "
            "test/<defect> folders."
        )
    train_items = [(GOOD, p, None) for p in _pngs(root / "train" / GOOD)]
    train = _split(train_items, size, "train/good", root)
    test = _split(_test_items(root), size, "test/*", root)
    if test.labels.all() or not test.labels.any():
        raise MVTecError(
            f"The test folder of {root} needs both good and defective images to be scored."
        )
    return MVTecCategory(root.name, root, size, train, test)
