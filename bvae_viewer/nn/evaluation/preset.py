"""Evaluation presets: how much data, time and which rows `bvae-viewer evaluate` spends on.

``quick`` runs in CI in a few minutes on two cores (32 px, narrow networks); ``full`` is the
real comparison at 128 px, sized to finish in about an hour on a two-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bvae_viewer.nn.config import ModelConfig

# Row groups, in the order they run: the most important first, so a crash keeps them.
# Each group trains its networks once and yields one or more rows.
GROUPS = (
    "bundled",  # the given model (Table 1), nothing trained
    "paper",  # paper configuration (+ no_epistemic when it is the base)
    "fast",  # fast configuration (+ no_epistemic when it is the base)
    "no_attention",
    "no_aleatoric",
    "deterministic_ae",
    "mc_dropout",
    "ensemble",  # deep_ensemble, and tta on its first member
    "adae",  # adae, adae_x
    "prob_unet",  # prob_unet, prob_unet_sup (supervised segmentation, grader masks)
    "reverse_distillation",  # rd, rd_ensemble, rd_mc_dropout, rd_tta (rd_rows.py)
)


@dataclass(frozen=True)
class EvalPreset:
    """Everything that sets the evaluation's cost; recorded in metrics.json."""

    name: str
    image_size: int  # side of the slices the networks trained here see
    # ModelConfig fields overridden for every network trained here (narrower nets for CI).
    config_overrides: dict[str, Any] = field(default_factory=dict)
    base: str = "paper"  # architecture the ablations and baselines switch parts of
    budget_s: float = 200.0  # training wall time per network (an ensemble: per member)
    # The Probabilistic U-Net's own slice size (None: image_size). Supervised segmentation
    # needs many steps, and at 128 px one step costs 5 s on this CPU (1 s at 64 px).
    prob_unet_size: int | None = None
    epochs: int = 30
    patience: int = 6
    warmup_epochs: int = 3
    batch_size: int = 32
    # At 1e-3 the networks with a variance head fell, within a few epochs, into a black mean
    # image whose variance head explains the slice (3 of 3 seeds at 32 px); 5e-4: 1 of 3.
    lr: float = 5e-4
    samples: int = 5  # K latent samples (and MC dropout masks)
    ensemble_members: int = 5
    tta_augmentations: int = 8
    dropout: float = 0.1  # MC dropout rate
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    max_cases: tuple[int, int, int] = (60, 10, 20)  # train, validation, test
    max_slices_per_case: int = 24  # brain slices scored per val/test case, evenly spaced
    max_early_stopping_slices: int = 512  # normal validation slices for the stopping loss
    speed_volumes: int = 2  # whole test volumes timed through the app's engine
    infer_batch: int = 16
    groups: tuple[str, ...] = GROUPS
    progress_bars: bool = True  # tqdm bars while training

    def __post_init__(self) -> None:
        unknown = sorted(set(self.groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"unknown evaluation rows: {', '.join(unknown)}")
        if self.base not in ("paper", "fast"):
            raise ValueError("The base architecture must be 'paper' or 'fast'.")
        if 128 % self.image_size:
            raise ValueError("The preset's image size must divide 128.")
        self.config("paper")  # fail now, not an hour in, if the overrides do not fit

    def config(self, kind: str) -> ModelConfig:
        """The paper or fast configuration at this preset's size and widths."""
        base = ModelConfig.paper() if kind == "paper" else ModelConfig.fast()
        changes: dict[str, Any] = {"image_size": self.image_size, **self.config_overrides}
        if kind == "fast":
            scale = self.image_size / 128
            changes.setdefault("kv_pool", max(2, round(base.kv_pool * scale)))
            if "channels" in self.config_overrides:
                changes.setdefault("decoder_out_channels", max(4, changes["channels"][0] // 2))
        return replace(base, **changes)

    @property
    def base_config(self) -> ModelConfig:
        return self.config(self.base)


QUICK = EvalPreset(
    name="quick",
    image_size=32,
    config_overrides={"latent_dim": 32, "channels": (8, 16, 32, 64), "heads": 4},
    base="paper",
    budget_s=10.0,
    epochs=8,
    patience=3,
    warmup_epochs=2,
    samples=5,
    ensemble_members=2,
    tta_augmentations=4,
    val_fraction=0.2,
    test_fraction=0.3,
    max_cases=(16, 4, 6),
    max_slices_per_case=24,
    max_early_stopping_slices=128,
    speed_volumes=1,
    progress_bars=False,
)

# Measured on this 2-core CPU while shared (one thread), at 128 px: a training step (batch 32)
# takes about 35 s for the paper configuration and 2 s for the fast one; scoring a slice at
# K=5 takes 1.5 s against 0.11 s, and the app's engine needs 276 s against 14 s for a whole
# volume. So the ablations switch parts off the fast configuration, the paper configuration
# trains beside it with the same budget, and its scoring (about 20 of the run's minutes) is
# what caps the slices scored per case. With the Probabilistic U-Net and Reverse
# Distillation groups there are 17 networks (ensembles of 3): at 120 s each, about 35 min of
# training, 20-25 min of scoring and 3-4 min of loading, about an hour on two free cores.
FULL = EvalPreset(
    name="full",
    image_size=128,
    base="fast",
    budget_s=120.0,
    epochs=30,
    patience=6,
    warmup_epochs=3,
    samples=5,
    ensemble_members=3,
    tta_augmentations=8,
    max_early_stopping_slices=256,
    speed_volumes=1,
    prob_unet_size=64,
)

PRESETS = {"quick": QUICK, "full": FULL}


def get_preset(name: str) -> EvalPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown evaluation preset '{name}': choose {' or '.join(PRESETS)}."
        ) from None
