"""report.md's Probabilistic U-Net section: detection beside the paper, and segmentation."""

from __future__ import annotations

from typing import Any

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.markdown import DASH, fixed, get_path, table

PROB_UNET_ROWS = ("prob_unet", "prob_unet_sup")
PAPER_NAME = "Probabilistic U-Net"


def _row(name: str, row: dict[str, Any] | None) -> list[str]:
    if row is None:
        return [paper.label(name), "not run", DASH, fixed(paper.paper_auc(name)),
                *[DASH] * 8]  # fmt: skip
    d = row.get("detection") or {}
    s = row.get("segmentation") or {}
    unc = get_path(row, "abstention", "by", "uncertainty") or {}
    t = row.get("training") or {}
    return [
        paper.label(name),
        fixed(d.get("roc_auc")),
        fixed(d.get("pr_auc")),
        fixed(paper.paper_auc(name)),
        fixed(s.get("dice_mean")),
        fixed(s.get("ged")),
        fixed(s.get("diversity")),
        fixed(s.get("uncertainty_corr")),
        fixed(unc.get("aurc"), 4),
        str(s.get("n_slices", DASH)),
        str(t.get("steps", DASH)),
        fixed(t.get("seconds"), 0),
    ]


def prob_unet_section(rows: dict[str, Any]) -> list[str]:
    """The two Prob U-Net rows (or the paper's number alone when they were not run)."""
    present = [rows.get(n) for n in PROB_UNET_ROWS]
    body = [_row(n, r) for n, r in zip(PROB_UNET_ROWS, present, strict=True)]
    header = [
        "",
        "slice ROC AUC",
        "PR AUC",
        "paper ROC AUC",
        "Dice (sample mean)",
        "GED",
        "sample diversity",
        "r (predicted vs grader variance)",
        "AURC, by uncertainty",
        "graded test slices",
        "training steps",
        "training s",
    ]
    lines = [f"## {PAPER_NAME} (supervised, several graders)", "", *table(header, body)]
    ran = next((r for r in present if r is not None), None)
    graders = (ran or {}).get("graders") or {}
    lines += [
        "Unlike every other row, the Prob U-Net is supervised segmentation: it trains on the "
        "labelled slices (with and without tumour) of the training cases, drawing one grader's "
        "whole-tumour mask per slice and step, while the other rows learn from normal slices "
        "only. Its slice score is the predicted tumour area (mean over the brain of the K "
        "samples' mean tumour probability); the paper's 0.813 is its slice ROC AUC on "
        "BraTS2020. Its uncertainty is the per-pixel variance across the K prior samples; the "
        "second row adds a loss pulling that variance towards the variance across graders "
        "(the supervised aleatoric target). Dice: the sample mean (probability > 0.5) against "
        "the seg's whole tumour, averaged over test slices where a grader marks tumour; GED "
        "(lower is better) and diversity use d = 1 - IoU between samples and graders; r: "
        "Pearson correlation over the brain pixels of those slices.",
        "",
    ]
    if graders:
        lines += [f"Grader masks ({graders.get('n')} per case): {graders.get('note')}.", ""]
    return lines
