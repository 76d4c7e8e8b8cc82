"""The robustness suite's outputs: one PNG per factor and a markdown section."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bvae_viewer.analysis.evaluation.markdown import DASH, fixed
from bvae_viewer.analysis.evaluation.robustness import (
    FIXED_FPR,
    NORMAL_CALLED_NORMAL_GOAL,
    SLICES_FLAGGED_GOAL,
    FactorPlan,
    StrengthRow,
    goal_verdict,
)

DPI = 110


def _share(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.0f} %"


def plot_factor(plan: FactorPlan, rows: Sequence[StrengthRow], path: Path) -> Path:
    """Left: normal brains called normal and their slices flagged; right: tumour AUCs."""
    fig = Figure(figsize=(9.0, 3.6), dpi=DPI)
    left, right = fig.subplots(1, 2)
    x = np.arange(len(rows))
    labels = [str(r.strength) + (" *" if r.beyond_training else "") for r in rows]

    def series(name: str) -> np.ndarray:
        return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in rows])

    left.plot(x, series("normal_called_normal"), "o-", label="normal brains called normal")
    left.plot(x, series("normal_slices_flagged"), "s-", label="their brain slices flagged")
    left.axhline(NORMAL_CALLED_NORMAL_GOAL, color="tab:blue", ls=":", lw=0.8)
    left.axhline(SLICES_FLAGGED_GOAL, color="tab:orange", ls=":", lw=0.8)
    left.set_ylim(-0.03, 1.03)
    left.set_title("normal brains (the app's decisions)", fontsize=9)
    right.plot(x, series("tumour_slice_auc"), "o-", label="tumour slice ROC AUC")
    right.plot(x, series("tumour_vs_varied_normal_auc"), "s-",
               label="tumour vs varied-normal slices AUROC")
    right.plot(x, series("sensitivity_at_fpr"), "^-",
               label=f"sensitivity at {FIXED_FPR:.0%} FPR")
    right.set_ylim(-0.03, 1.03)
    right.set_title("tumour cases (threshold-free)", fontsize=9)
    for ax in (left, right):
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_xlabel(f"{plan.name} ({plan.unit})" if plan.unit else plan.name, fontsize=8)
        ax.legend(fontsize=7, loc="lower left")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Robustness to {plan.name} (* beyond the training range)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def markdown_section(
    rows: Sequence[StrengthRow], header: dict, plots: dict[str, str], level: int = 2
) -> str:
    """The section for EVALUATION.md: how it was made, a table per factor, the verdict."""
    h = "#" * level
    lines = [
        f"{h} Robustness: normal brains varied one factor at a time",
        "",
        f"Model: {header.get('model', DASH)}. Command: `{header.get('command', DASH)}`; "
        f"{header.get('normals')} normal and {header.get('tumours')} tumour subjects per "
        f"strength (the same subjects at every strength), {header.get('n_cases')} cases in "
        f"{header.get('seconds', 0):.0f} s on {header.get('device', DASH)}.",
        "",
        "Each case is a synthetic brain from a clean scan (deformation 1.5 mm, no bias, gamma "
        "1, noise 1.5 %, no blur, 1 mm slices, MNI152 anatomy) with one factor changed. "
        "Decisions are the app's own: its Calibration, TriagePolicy and case rule. "
        "`normal called normal`: share of normal cases whose case decision is normal; "
        "`slices flagged`: share of their brain slices whose own decision is flagged; "
        "`tumour AUC`: slice ROC AUC within tumour cases; `vs normal`: AUROC of tumour slices "
        f"against the normal cases' slices; `sens`: its sensitivity at {FIXED_FPR:.0%} FPR. "
        "`*`: beyond the wide generator's training range (or a held-out head).",
        "",
        "| factor | strength | normal called normal | slices flagged | tumour cases flagged "
        "| tumour AUC | vs normal | sens |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.factor} | {r.strength}{' *' if r.beyond_training else ''} | "
            f"{_share(r.normal_called_normal)} ({r.n_normal}) | "
            f"{_share(r.normal_slices_flagged)} | {_share(r.tumour_cases_flagged)} "
            f"({r.n_tumour}) | {fixed(r.tumour_slice_auc)} | "
            f"{fixed(r.tumour_vs_varied_normal_auc)} | {fixed(r.sensitivity_at_fpr, 2)} |"
        )
    verdict = goal_verdict(rows)
    met = [k for k, v in verdict.items() if v]
    missed = [k for k, v in verdict.items() if v is False]
    lines += [
        "",
        f"The issue's bar (>= {NORMAL_CALLED_NORMAL_GOAL:.0%} of normal brains called normal "
        f"and <= {SLICES_FLAGGED_GOAL:.0%} of their slices flagged, at every strength it "
        f"names): met for {', '.join(met) or 'no factor'}; not met for "
        f"{', '.join(missed) or 'no factor'}.",
        "",
    ]
    lines += [f"![{name}]({path})" for name, path in plots.items()]
    return "\n".join(lines) + "\n"
