"""The command line of ``python -m bvae_viewer.nn.train`` (what torchrun launches), kept
apart from the training loop it drives.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.train import TrainOptions, train_model


def _config(arg: str) -> ModelConfig:
    if arg in ("paper", "fast"):
        return getattr(ModelConfig, arg)()
    return ModelConfig.from_dict(json.loads(Path(arg).read_text(encoding="utf-8")))


def _load_npz(path: Path) -> tuple[np.ndarray, ...]:
    """images/masks, and val_images/val_masks or else the last tenth of the images."""
    with np.load(path) as data:
        images = data["images"]
        masks = data.get("masks")
        if "val_images" in data:
            val = data["val_images"]
            val_masks = data.get("val_masks")
        else:
            cut = len(images) - max(1, len(images) // 10)
            val, images = images[cut:], images[:cut]
            val_masks, masks = (None, None) if masks is None else (masks[cut:], masks[:cut])
    return images, masks, val, val_masks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bvae_viewer.nn.train")
    parser.add_argument("--images", type=Path, required=True, help=".npz with images[, masks]")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    parser.add_argument("--config", default="fast", help="paper | fast | a ModelConfig .json")
    defaults = TrainOptions()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    images, masks, val, val_masks = _load_npz(args.images)
    options = TrainOptions(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        num_threads=args.threads, time_budget_s=args.time_budget, device=args.device,
    )  # fmt: skip
    result = train_model(
        _config(args.config), images, val, args.out, options, resume=args.resume,
        progress=not args.no_progress, train_masks=masks, val_masks=val_masks,
    )  # fmt: skip
    rank, world = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
    print(
        f"rank {rank}/{world}: epochs_run={result.epochs_run} "
        f"best_val={result.best_val_loss:.4f} stopped={result.stopped}",
        flush=True,
    )
    return 0
