"""Evaluation presets: how much data, which rows, and when each network stops training.

Every network trains until its early-stopping loss (or, with ``select_on="skill"``, its
validation reconstruction skill) plateaus (``patience`` epochs without a better one, counted
only once it reconstructs: ``min_skill``); ``epochs``, ``max_steps`` and
``budget_s`` are caps, a safety net whose biting each row records. ``quick`` runs in CI in a
few minutes on two cores (32 px, narrow networks, its caps bite); ``paper64`` is the
comparison sized for a two-core CPU (64 px); ``full`` is the comparison at 128 px for a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bvae_viewer.analysis.evaluation.paper import COLLAPSED_SKILL
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
    # Caps per network (an ensemble: per member), a safety net for the plateau rule.
    budget_s: float = 200.0  # wall seconds
    # The paper configuration's wall cap, in budget_s: its full-resolution attention makes a
    # step cost many times a fast-family one, so at one cap it learns far less.
    paper_budget_factor: float = 1.0
    max_steps: int | None = None  # optimiser steps (None: no step cap)
    # The Probabilistic U-Net's own slice size (None: image_size). Supervised segmentation
    # needs many steps, and at 128 px one step costs 5 s on this CPU (1 s at 64 px).
    prob_unet_size: int | None = None
    epochs: int = 30  # the epoch cap
    patience: int = 6  # epochs without a better early-stopping loss: a plateau
    # Epochs below this validation reconstruction skill add no patience; a row whose network
    # ends below it on the test slices is reported as not trained.
    min_skill: float = COLLAPSED_SKILL
    warmup_epochs: int = 3
    # Which validation number picks the weights kept and counts the patience: "loss" (the
    # paper's early stopping) or "skill" (the mean's reconstruction, what the score uses).
    select_on: str = "loss"
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

    def wall_cap(self, config: ModelConfig) -> float:
        """Seconds a network of this configuration may train (a safety net, not the rule)."""
        return self.budget_s * (self.paper_budget_factor if config.name == "paper" else 1.0)


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

# Measured in the first full paper64 run (2026-12-07, this 2-core CPU shared with another
# job, 2 threads, batch 32, widths 16-128, 4 heads, latent 128, 2,071 training slices, 65
# steps an epoch): an epoch takes about 4 s for the fast configuration, 2.5 s without
# attention and about 83 s for the paper configuration (its decoder attends over 32x32
# tokens); scoring, 2 ms against 22 ms a slice. A 60-epoch cap stopped the fast network
# at validation skill 0.19, still climbing (3,900 steps, 229 s), and 2,400 s stopped the paper
# one at 29 epochs, skill -0.06: so the caps are 600 epochs and 2,400 s (the paper
# configuration 7,200 s), and the plateau rule ends training. Its patience is 20 epochs: the
# validation NLL of these networks wanders from epoch to epoch while the mean still
# improves, and with patience 5 the fast network stopped at epoch 83 on weights of skill
# 0.13 (no attention: epoch 118, 0.09), both "not trained"; 20 fast epochs cost 80 s.
# With patience 20 the fast network reached test skill 0.32 but the one without attention
# stopped on weights of 0.09 again: its validation NLL was best at an epoch whose mean
# reconstructed poorly (skill 0.16, against 0.2-0.42 around it). The NLL rewards the variance
# head as much as the mean, and the score is the mean's error, so paper64 keeps the weights
# with the best validation skill and counts the patience on it. The ablations and baselines
# switch parts off the fast configuration, as in ``full``; resumable group by group.
#
# Its networks have a linear mean head (no sigmoid). With the sigmoid, every network tried at
# this size (paper and fast, with and without attention, aleatoric head or sampling, learning
# rates 5e-5 to 5e-4) fell within 50-200 steps into a black image it never left:
# the background (85 % of the pixels at 64 px) pulls the whole decoder dark, the sigmoid
# saturates on the brain too, and its gradient is gone (measured 2026-12-07, 400 steps each;
# the paper configuration's first paper64 run sat at skill -27 for 16 epochs). A linear head
# came back from a dark start in 4 of 4 runs, the paper configuration included.
PAPER64 = EvalPreset(
    name="paper64",
    image_size=64,
    config_overrides={
        "channels": (16, 32, 64, 128),
        "heads": 4,
        "latent_dim": 128,
        "sigmoid_mean": False,
    },
    base="fast",
    budget_s=2400.0,
    paper_budget_factor=3.0,
    epochs=600,
    patience=20,
    select_on="skill",
    warmup_epochs=3,
    samples=5,
    ensemble_members=3,
    tta_augmentations=8,
    max_cases=(24, 8, 16),
    max_slices_per_case=24,
    max_early_stopping_slices=256,
    speed_volumes=1,
    prob_unet_size=64,
)

# For a GPU: 128 px at the paper's widths. Measured on an H200 (EVALUATION.md part 2): an
# epoch of about 5,000 slices took 19 s for the fast configuration and 72 s for the paper
# one; the 1,800 s cap leaves both room for a plateau at patience 10. On this CPU one paper
# step at 128 px takes about 35 s: use ``paper64`` here.
FULL = EvalPreset(
    name="full",
    image_size=128,
    base="fast",
    budget_s=1800.0,
    epochs=200,
    patience=10,
    warmup_epochs=3,
    samples=5,
    ensemble_members=3,
    tta_augmentations=8,
    max_early_stopping_slices=256,
    speed_volumes=1,
    prob_unet_size=64,
)

PRESETS = {"quick": QUICK, "paper64": PAPER64, "full": FULL}

# Networks each group trains, in wall caps (budget_s): what the time left is bounded by.
# The supervised Prob U-Net may take SUPERVISED_BUDGET_FACTOR (3) caps; RD adds a teacher.
_CAPS = {"bundled": 0, "fast": 1, "adae": 1, "prob_unet": 4}


def group_caps(preset: EvalPreset, group: str) -> float:
    """The most training wall time a group can take under the preset's caps, in seconds."""
    members = preset.ensemble_members
    caps = {
        "ensemble": members,
        "reverse_distillation": members + 1,
        "paper": preset.paper_budget_factor,
    }.get(group)
    return preset.budget_s * (caps if caps is not None else _CAPS.get(group, 1))


def get_preset(name: str) -> EvalPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown evaluation preset '{name}': choose {', '.join(PRESETS)}."
        ) from None
