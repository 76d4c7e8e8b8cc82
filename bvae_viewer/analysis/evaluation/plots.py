"""PNG plots of the evaluation.

Figures are built with matplotlib's object API (no pyplot): nothing global such as the
backend changes, and no figure stays alive in a figure manager after it is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.slices import OperatingPoint, ScoredSlices
from bvae_viewer.analysis.evaluation.summary import curves, safe_auc
from bvae_viewer.analysis.metrics import slice_metrics

DPI = 110
MAIN_ROWS = ("bundled", "paper", "fast")


@dataclass(frozen=True)
class PlotRow:
    """One row's test slices and operating point."""

    name: str
    test: ScoredSlices
    op: OperatingPoint

    @property
    def scores(self) -> np.ndarray:
        return self.op.scores(self.test)

    @property
    def usable(self) -> bool:
        """Both classes present: curves are defined."""
        return bool(self.test.labels.any() and (~self.test.labels).any())


def _style(i: int, name: str) -> dict:
    colours = colormaps["tab20"].colors
    return {
        "color": colours[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20],
        "linewidth": 2.2 if name in MAIN_ROWS else 1.3,
        "linestyle": "-" if name in MAIN_ROWS or not name.startswith(("adae", "tta")) else "--",
    }


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path.name


def plot_roc(rows: Sequence[PlotRow], path: Path) -> str:
    fig = Figure(figsize=(7.5, 6.5))
    ax = fig.subplots()
    for i, row in enumerate(r for r in rows if r.usable):
        fpr, tpr, _ = roc_curve(row.test.labels, row.scores)
        auc = safe_auc(row.test.labels, row.scores)
        ax.plot(fpr, tpr, label=f"{paper.label(row.name)} ({auc:.3f})", **_style(i, row.name))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance (0.500)")
    ax.set(
        xlabel="false positive rate (normal slices flagged)",
        ylabel="true positive rate (abnormal slices flagged)",
        title="ROC, test slices (ROC AUC in brackets)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_pr(rows: Sequence[PlotRow], path: Path) -> str:
    fig = Figure(figsize=(7.5, 6.5))
    ax = fig.subplots()
    prevalence = None
    for i, row in enumerate(r for r in rows if r.usable):
        precision, recall, _ = precision_recall_curve(row.test.labels, row.scores)
        ap = slice_metrics(row.test.labels, row.scores)["pr_auc"]
        ax.plot(
            recall, precision, label=f"{paper.label(row.name)} ({ap:.3f})", **_style(i, row.name)
        )
        prevalence = float(row.test.labels.mean())
    if prevalence is not None:
        ax.axhline(
            prevalence, color="0.6", linestyle=":", linewidth=1, label=f"chance ({prevalence:.3f})"
        )
    ax.set(
        xlabel="recall (abnormal slices flagged)",
        ylabel="precision",
        title="Precision-recall, test slices (average precision in brackets)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _main(rows: Sequence[PlotRow]) -> list[PlotRow]:
    main = [r for r in rows if r.name in MAIN_ROWS]
    return main or list(rows[:1])


def plot_risk_coverage(rows: Sequence[PlotRow], path: Path) -> str:
    main = _main(rows)
    fig = Figure(figsize=(5.4 * len(main), 6.0))
    axes = fig.subplots(1, len(main), squeeze=False)
    for ax, row in zip(axes[0], main, strict=True):
        c = curves(row.test, row.op)
        base = float(c["oracle"].risk[-1])
        styles = {
            "uncertainty": ("review by uncertainty (U_tot)", "tab:blue", "-"),
            "score": ("review by score (closest to threshold)", "tab:orange", "-"),
            "oracle": ("oracle (errors reviewed first)", "0.4", ":"),
        }
        for key, (text, colour, ls) in styles.items():
            if key in c:
                ax.plot(
                    c[key].coverage,
                    c[key].risk,
                    color=colour,
                    linestyle=ls,
                    label=f"{text}, AURC {c[key].aurc:.4f}",
                )
        ax.axhline(
            base, color="0.6", linestyle="--", linewidth=1, label=f"random review, AURC {base:.4f}"
        )
        for f in (0.7, 0.8, 0.9):  # 30, 20, 10 % review
            ax.axvline(f, color="0.85", linewidth=0.8, zorder=0)
        ax.set(
            xlabel="coverage (share decided automatically)",
            ylabel="risk (error rate of automatic decisions)",
            title=paper.label(row.name),
            xlim=(0, 1.0),
        )
        ax.set_ylim(bottom=0)
        # Below the axes: risk curves can run anywhere inside them.
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))
        ax.grid(alpha=0.3)
    fig.suptitle("Risk-coverage on test slices (grey lines: 10/20/30 % review)")
    return _save(fig, path)


def plot_score_histograms(rows: Sequence[PlotRow], path: Path) -> str:
    main = _main(rows)
    fig = Figure(figsize=(5.2 * len(main), 4.2))
    axes = fig.subplots(1, len(main), squeeze=False)
    for ax, row in zip(axes[0], main, strict=True):
        scores = row.scores
        positive = scores[scores > 0]
        log = positive.size == scores.size and positive.size > 0
        values = np.log10(scores) if log else scores
        bins = np.linspace(np.nanmin(values), np.nanmax(values) + 1e-12, 40)
        labels = row.test.labels
        ax.hist(
            values[~labels],
            bins=bins,
            alpha=0.6,
            color="tab:green",
            label=f"normal (n={int((~labels).sum())})",
        )
        ax.hist(
            values[labels],
            bins=bins,
            alpha=0.6,
            color="tab:red",
            label=f"abnormal (n={int(labels.sum())})",
        )
        thr = row.op.score_threshold
        if np.isfinite(thr) and (thr > 0 or not log):
            ax.axvline(
                np.log10(thr) if log else thr,
                color="k",
                linestyle="--",
                linewidth=1,
                label="threshold (validation)",
            )
        ax.set(
            xlabel="log10 anomaly score" if log else "anomaly score",
            ylabel="slices",
            title=paper.label(row.name),
        )
        ax.legend(fontsize=8)
    fig.suptitle("Anomaly scores of test slices")
    return _save(fig, path)


def write_plots(rows: Sequence[PlotRow], out_dir: Path) -> list[str]:
    """roc.png, pr.png, risk_coverage.png, score_histograms.png; returns the file names."""
    rows = [r for r in rows if len(r.test)]
    if not rows:
        return []
    out_dir = Path(out_dir)
    return [
        plot_roc(rows, out_dir / "roc.png"),
        plot_pr(rows, out_dir / "pr.png"),
        plot_risk_coverage(rows, out_dir / "risk_coverage.png"),
        plot_score_histograms(rows, out_dir / "score_histograms.png"),
    ]
