"""The published numbers we compare against, and the names of the evaluation's rows."""

from __future__ import annotations

PAPER_DATA = "BraTS2020 T1ce, 128x128 slices"

# Table 1 of the paper (slice level; a slice is abnormal if its seg has any tumour voxel).
PAPER_TABLE1 = {
    "roc_auc": 0.834,
    "pr_auc": 0.833,
    "mean_score_normal": 0.0058,
    "mean_score_abnormal": 0.0127,
}
# ROC AUC by uncertainty type.
PAPER_BY_UNCERTAINTY = {"total": 0.846, "aleatoric": 0.846, "epistemic": 0.644, "combined": 0.834}

# Row id -> (label in the report, the paper's ROC AUC or None, where that number comes from).
ROWS: dict[str, tuple[str, float | None, str]] = {
    "bundled": ("given model (model.json)", 0.834, "paper, full model"),
    "paper": ("paper configuration, trained here", 0.834, "paper, full model"),
    "fast": ("fast configuration, trained here", None, ""),
    "no_attention": ("no attention", 0.795, "paper ablation"),
    "no_aleatoric": ("no aleatoric head", 0.801, "paper ablation"),
    "no_epistemic": ("no epistemic sampling (K=1, z=mu)", 0.790, "paper ablation"),
    "deterministic_ae": ("deterministic autoencoder", 0.751, "paper ablation"),
    "mc_dropout": ("MC dropout", 0.783, "paper comparison (MC-dropout CNN)"),
    "deep_ensemble": ("deep ensemble", 0.801, "paper comparison"),
    "tta": ("test-time augmentation", None, ""),
    "adae": ("ADAE (score: D(G(x)) vs G(x))", 0.892, "ADAE paper, BraTS2017"),
    "adae_x": ("ADAE (score: D(G(x)) vs x)", 0.892, "ADAE paper, BraTS2017"),
    "prob_unet": ("Prob U-Net (score: tumour area)", 0.813, "paper comparison"),
    "prob_unet_sup": ("Prob U-Net + grader-variance loss", 0.813, "paper comparison"),
    "rd": ("Reverse Distillation, one student", None, ""),
    "rd_ensemble": ("Reverse Distillation, ensemble", None, ""),
    "rd_mc_dropout": ("Reverse Distillation, MC dropout", None, ""),
    "rd_tta": ("Reverse Distillation, test-time augmentation", None, ""),
}
ABLATIONS = ("no_attention", "no_aleatoric", "no_epistemic", "deterministic_ae")
BASELINES = ("mc_dropout", "deep_ensemble", "tta", "adae", "adae_x")
# Rows whose score compares two outputs of the network, not a reconstruction with the input.
NOT_RECONSTRUCTION = ("adae", "prob_unet", "prob_unet_sup")
# Below this reconstruction skill a network returns about the same image for every slice.
COLLAPSED_SKILL = 0.2
# Published but not run here.
NOT_RUN: dict[str, float] = {}


def label(row: str) -> str:
    return ROWS.get(row, (row, None, ""))[0]


def paper_auc(row: str) -> float | None:
    return ROWS.get(row, (row, None, ""))[1]
