"""report.md's Reverse Distillation section: does uncertainty help review, and at what cost?

Everything here is generated from the rows' metrics (metrics.json); no conclusion is
written in advance. The two questions of issue 10:

1. Does deferring by uncertainty beat deferring by the score alone (the slices closest to
   the threshold)? Compared by AURC at the app's threshold and at the F1-optimal one.
2. Which uncertainty gives the most for its cost? The AURC it saves against the score
   alone, and the ROC AUC it adds to one student, beside the extra seconds per volume
   (and training seconds) it costs over one student's single pass.
"""

from __future__ import annotations

from typing import Any

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.markdown import DASH, fixed, get_path, number, table

SINGLE = "rd"
WITH_UNCERTAINTY = ("rd_ensemble", "rd_mc_dropout", "rd_tta")
# AURC differences below this are not read as a difference (small test sets in CI).
AURC_TIE = 0.002


def _aurc(row: dict[str, Any], by: str) -> float | None:
    return number(get_path(row, "abstention", "by", by, "aurc"))


def _balanced(row: dict[str, Any], by: str) -> float | None:
    return number(get_path(row, "abstention", "balanced", "aurc", by))


def _table(rows: dict[str, Any], names: list[str]) -> list[str]:
    body = []
    for name in names:
        row = rows[name]
        unc, score = _aurc(row, "uncertainty"), _aurc(row, "score")
        body.append(
            [
                paper.label(name),
                fixed(get_path(row, "detection", "roc_auc")),
                fixed(get_path(row, "detection", "pr_auc")),
                fixed(unc, 4),
                fixed(score, 4),
                fixed(unc - score, 4) if unc is not None and score is not None else DASH,
                fixed(get_path(row, "abstention", "by", "uncertainty", "excess_aurc"), 4),
                fixed(get_path(row, "abstention", "by", "score", "excess_aurc"), 4),
                fixed(_balanced(row, "uncertainty"), 4),
                fixed(_balanced(row, "score"), 4),
                fixed(get_path(row, "speed", "s_per_volume"), 3),
                fixed(get_path(row, "training", "seconds"), 0),
            ]
        )
    header = [
        "",
        "ROC AUC",
        "PR AUC",
        "AURC, by uncertainty",
        "AURC, by score",
        "Δ (uncertainty − score)",
        "E-AURC, by uncertainty",
        "E-AURC, by score",
        "F1 threshold: AURC by uncertainty",
        "AURC by score",
        "s / volume",
        "training s",
    ]
    return table(header, body)


def _verdict(delta: float | None) -> str:
    if delta is None:
        return "cannot be compared"
    if delta < -AURC_TIE:
        return "better than the score alone"
    if delta > AURC_TIE:
        return "worse than the score alone"
    return "no different from the score alone"


def _question1(rows: dict[str, Any], names: list[str]) -> tuple[list[str], dict[str, float]]:
    """One sentence per method; returns the AURC each saves (score minus uncertainty)."""
    lines, saved = [], {}
    for name in names:
        row = rows[name]
        unc, score = _aurc(row, "uncertainty"), _aurc(row, "score")
        b_unc, b_score = _balanced(row, "uncertainty"), _balanced(row, "score")
        if unc is None or score is None:
            lines.append(f"- {paper.label(name)}: no uncertainty to defer by.")
            continue
        saved[name] = score - unc
        text = (
            f"- {paper.label(name)}: AURC {unc:.4f} deferring by uncertainty against "
            f"{score:.4f} by score, {_verdict(unc - score)}"
        )
        if b_unc is not None and b_score is not None:
            text += (
                f"; at the F1-optimal threshold {b_unc:.4f} against {b_score:.4f}, "
                f"{_verdict(b_unc - b_score)}"
            )
        lines.append(text + ".")
    better = [paper.label(n) for n, s in saved.items() if s > AURC_TIE]
    if saved:
        summary = (
            f"Uncertainty improves the review policy over the score alone for "
            f"{len(better)} of {len(saved)} methods"
            + (f" ({', '.join(better)})." if better else ".")
        )
        lines.append(f"- **{summary}**")
    return lines, saved


def _question2(rows: dict[str, Any], names: list[str], saved: dict[str, float]) -> list[str]:
    """Gains beside costs, relative to one student's single pass where it was run."""
    base_t = number(get_path(rows, SINGLE, "speed", "s_per_volume"))
    base_auc = number(get_path(rows, SINGLE, "detection", "roc_auc"))
    base_train = number(get_path(rows, SINGLE, "training", "seconds"))
    lines, ratios = [], {}
    for name in names:
        row = rows[name]
        t = number(get_path(row, "speed", "s_per_volume"))
        auc = number(get_path(row, "detection", "roc_auc"))
        train = number(get_path(row, "training", "seconds"))
        parts = [f"{fixed(t, 3)} s per volume"]
        extra = t - base_t if t is not None and base_t is not None else None
        if extra is not None and base_t:
            parts.append(f"{t / base_t:.1f}x one student's pass")
        if auc is not None and base_auc is not None:
            parts.append(f"ROC AUC {auc - base_auc:+.3f} against one student")
        if train is not None and base_train:
            parts.append(f"training {train / base_train:.1f}x")
        gain = saved.get(name)
        if gain is not None:
            parts.append(f"AURC saved against its score alone {gain:+.4f}")
            if gain > AURC_TIE and extra is not None and extra > 0:
                ratios[name] = gain / extra
        lines.append(f"- {paper.label(name)}: " + ", ".join(parts) + ".")
    if ratios:
        best = max(ratios, key=ratios.get)
        lines.append(
            f"- **Most for its cost: {paper.label(best)}**, {ratios[best]:.4f} AURC saved per "
            "extra second per volume."
        )
    elif saved:
        lines.append(
            "- **None of the uncertainties saves AURC beyond the tie margin here, so the "
            "cheapest (one student, no uncertainty) gives the most for its cost.**"
        )
    return lines


def rd_section(rows: dict[str, Any]) -> list[str]:
    """The section's markdown lines; empty when the group did not run."""
    present = [n for n in (SINGLE, *WITH_UNCERTAINTY) if n in rows]
    if not present:
        return []
    uncertain = [n for n in WITH_UNCERTAINTY if n in rows]
    n_test = max(int(number(rows[n].get("n_test_slices")) or 0) for n in present)
    q1, saved = _question1(rows, uncertain)
    lines = [
        "## Reverse Distillation: uncertainty for abstain / review",
        "",
        "Teacher: a small CNN pretrained here as a denoising-inpainting autoencoder on normal "
        "training slices, then frozen; students: one-class bottleneck and decoder. Anomaly "
        "map: sum over three scales of 1 − cosine similarity; slice score: mean of the top "
        "5 % brain pixels; slice uncertainty: brain mean of the per-pixel variance of the "
        "samples' maps. Seconds per volume: time per brain slice in the scoring loop times "
        "the mean brain slices per test volume. Training seconds include the teacher.",
        "",
        *_table(rows, present),
        f"**Does uncertainty improve the abstain/review policy?** ({n_test} test slices; "
        f"AURC differences under {AURC_TIE} are read as no difference.)",
        "",
        *q1,
        "",
        "**Which uncertainty gives the most for its cost?**",
        "",
        *_question2(rows, uncertain, saved),
        "",
    ]
    return lines
