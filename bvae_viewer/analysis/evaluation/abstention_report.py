"""report.md's abstention sections: risk-coverage by uncertainty and by score, the app's
policy at fixed review shares, and calibration by uncertainty quintile."""

from __future__ import annotations

from typing import Any

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.markdown import DASH, fixed, get_path, sig4, table
from bvae_viewer.analysis.evaluation.summary import REVIEW_FRACTIONS


def abstention_section(rows: dict[str, Any]) -> list[str]:
    body = []
    for name, row in rows.items():
        a = row.get("abstention")
        if not a:
            continue
        unc, score = a["by"].get("uncertainty", {}), a["by"].get("score", {})
        bal = a.get("balanced", {})
        body.append(
            [
                paper.label(name),
                fixed(a["error_rate"]),
                fixed(unc.get("aurc"), 4),
                fixed(score.get("aurc"), 4),
                fixed(unc.get("excess_aurc"), 4),
                fixed(score.get("excess_aurc"), 4),
                fixed(a["oracle_aurc"], 4),
                fixed(bal.get("error_rate")),
                fixed(get_path(bal, "aurc", "uncertainty"), 4),
                fixed(get_path(bal, "aurc", "score"), 4),
            ]
        )
    header = [
        "",
        "error rate",
        "AURC, by uncertainty",
        "AURC, by score",
        "E-AURC, by uncertainty",
        "E-AURC, by score",
        "oracle AURC",
        "F1 threshold: error rate",
        "AURC, by uncertainty",
        "AURC, by score",
    ]
    lines = [
        "## Abstention: uncertainty vs score alone",
        "",
        "Each slice is decided automatically (flagged above the validation threshold) unless it "
        "is sent to review. Risk = error rate of the automatic decisions. *By uncertainty*: "
        "the most uncertain slices (mean U_tot) go to review first; *by score*: the slices "
        "whose score is closest to the threshold. Lower AURC is better; E-AURC subtracts the "
        "best possible ordering (oracle). The first columns use the app's threshold (97 % "
        "specificity on validation); the last three the F1-optimal validation threshold.",
        "",
        *table(header, body),
    ]
    for name in ("bundled", "paper", "fast"):
        a = get_path(rows, name, "abstention")
        if a and "uncertainty" in a["by"]:
            lines += _selective(name, a)
    return lines


def _selective(name: str, a: dict[str, Any]) -> list[str]:
    unc, score = a["by"]["uncertainty"]["selective"], a["by"]["score"]["selective"]
    body = []
    for u, s in zip(unc, score, strict=True):
        body.append(
            [
                f"{round(100 * u['review_fraction'])} %",
                fixed(u["sensitivity"]),
                fixed(u["specificity"]),
                fixed(s["sensitivity"]),
                fixed(s["specificity"]),
                fixed(u["abnormal_in_review"], 2),
            ]
        )
    policy = a.get("policy")
    if policy:
        body.append(
            [
                f"policy: {100 * policy['review_fraction']:.1f} %",
                fixed(policy["sensitivity"]),
                fixed(policy["specificity"]),
                DASH,
                DASH,
                fixed(policy["abnormal_in_review"], 2),
            ]
        )
    header = [
        "review",
        "sensitivity (uncertainty)",
        "specificity (uncertainty)",
        "sensitivity (score)",
        "specificity (score)",
        "abnormal slices sent to review (uncertainty)",
    ]
    fractions = ", ".join(f"{round(100 * f)} %" for f in REVIEW_FRACTIONS)
    return [
        f"### {paper.label(name)}: the automatic part at {fractions} review",
        "",
        *table(header, body),
        '"policy": the app\'s own rule (its TriagePolicy), review above the uncertainty '
        "threshold or near the score threshold (the review band), both chosen on validation.",
        "",
    ]


def quintile_section(rows: dict[str, Any]) -> list[str]:
    lines = ["## Calibration by uncertainty quintile", ""]
    for name in ("bundled", "paper", "fast"):
        q = get_path(rows, name, "quintiles")
        if not q:
            continue
        body = [
            [
                str(r["quintile"]),
                f"{sig4(r['uncertainty_min'])}–{sig4(r['uncertainty_max'])}",
                str(r["n"]),
                fixed(r["abnormal_fraction"], 2),
                fixed(r["error_rate"]),
                fixed(r["roc_auc"]),
            ]
            for r in q
        ]
        lines += [f"### {paper.label(name)}", ""]
        lines += table(
            ["quintile", "U_tot range", "slices", "abnormal", "error rate", "ROC AUC within"], body
        )
        if q[0].get("constant"):
            lines += ["The uncertainty is constant: the quintiles are arbitrary.", ""]
    lines += ["A useful uncertainty has its error rate rising from quintile 1 to 5.", ""]
    return lines
