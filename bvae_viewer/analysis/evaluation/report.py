"""report.md: the evaluation's tables, ours beside the paper's, from the metrics.json contents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.abstention_report import (
    abstention_section,
    quintile_section,
)
from bvae_viewer.analysis.evaluation.heldout import heldout_section
from bvae_viewer.analysis.evaluation.markdown import (
    DASH,
    delta,
    fixed,
    get_path,
    number,
    sig4,
    table,
)
from bvae_viewer.analysis.evaluation.prob_unet_report import prob_unet_section
from bvae_viewer.analysis.evaluation.rd_report import rd_section
from bvae_viewer.analysis.evaluation.trained import NOT_TRAINED, not_trained, results, verdict


def _header(m: dict[str, Any]) -> list[str]:
    data = m.get("data", {})
    preset = m.get("preset", {})
    status = m.get("status", "running")
    lines = ["# Evaluation report", ""]
    if status != "done":
        lines += [f"**Incomplete run** (status: {status}); the tables hold what was done.", ""]
    lines += [f"> {data.get('statement', '')}", ""]
    counts = data.get("n_cases", {})
    slices = data.get("n_slices", {})
    lines += [
        f"- Data: `{data.get('root', '?')}`; split by patient (seed {m.get('seed')}): "
        f"{counts.get('train', 0)} train / {counts.get('val', 0)} validation / "
        f"{counts.get('test', 0)} test cases; test brain slices scored: "
        f"{slices.get('test', 0)} ({fixed(data.get('test_abnormal_fraction'), 2)} abnormal).",
        f"- Preset `{preset.get('name')}`: models trained here at {preset.get('image_size')} px, "
        f"{_budget(preset)}; K={preset.get('samples')} samples, ensemble of "
        f"{preset.get('ensemble_members')}, {preset.get('tta_augmentations')} TTA views; base "
        f"architecture for the ablations: `{preset.get('base')}`.",
        f"- Machine: {m.get('machine', '?')}; total wall time {fixed(m.get('wall_seconds'), 0)} s. "
        "A network stopped by its wall cap got fewer steps on a busier machine, so a rerun "
        "is bit-identical only where every network stopped on a plateau or its epoch cap.",
        f"- Paper numbers: {paper.PAPER_DATA}. A slice is abnormal if its segmentation has any "
        "tumour voxel; metrics are over brain slices of test cases only.",
        "",
    ]
    model = m.get("model", {})
    if model.get("note"):
        lines += [f"Given model: {model['note']}", ""]
    return lines


def _budget(preset: dict[str, Any]) -> str:
    """The stopping rule and its caps in words (older metrics.json: a wall budget only)."""
    if "min_skill" not in preset:
        return f"{preset.get('budget_s')} s and at most {preset.get('epochs')} epochs per network"
    steps = preset.get("max_steps")
    caps = f"{preset.get('epochs')} epochs" + (f", {steps} steps" if steps else "")
    # Older metrics.json files have neither key: the loss picked, one wall cap for all.
    rule = "validation skill" if preset.get("select_on") == "skill" else "early-stopping loss"
    factor = preset.get("paper_budget_factor", 1.0)
    budget = preset.get("budget_s")
    paper = "" if factor == 1.0 else f" ({fixed(budget * factor, 0)} s for the paper configuration)"
    return (
        f"each network until its {rule} plateaus ({preset.get('patience')} epochs "
        f"without a better one, counted once its validation skill reaches "
        f"{preset.get('min_skill')}; the weights kept are those of its best {rule}), capped at "
        f"{caps} and {fixed(budget, 0)} s{paper} (each row says which stopped it)"
    )


def _table1(rows: dict[str, Any]) -> list[str]:
    p = paper.PAPER_TABLE1
    body = [
        [
            "paper (BraTS2020)",
            fixed(p["roc_auc"]),
            fixed(p["pr_auc"]),
            sig4(p["mean_score_normal"]),
            sig4(p["mean_score_abnormal"]),
            DASH,
            DASH,
            DASH,
            DASH,
        ]
    ]
    for name in ("bundled", "paper", "fast"):
        d = get_path(rows, name, "detection")
        if d is None:
            continue
        if verdict(name, rows):
            body.append([paper.label(name), verdict(name, rows), *[DASH] * 7])
            continue
        body.append(
            [
                paper.label(name),
                fixed(d["roc_auc"]),
                fixed(d["pr_auc"]),
                sig4(d["mean_score_normal"]),
                sig4(d["mean_score_abnormal"]),
                f"{sig4(d['best_threshold'])} / {fixed(d['best_f1'])}",
                sig4(d["threshold"]),
                fixed(d["sensitivity"]),
                fixed(d["specificity"]),
            ]
        )
    header = [
        "",
        "ROC AUC",
        "PR AUC",
        "mean score, normal",
        "mean score, abnormal",
        "F1-optimal threshold / F1 (test)",
        "threshold (validation or model.json)",
        "sensitivity",
        "specificity",
    ]
    note = (
        "Scores are comparable within a row only (their scale depends on the model and its "
        "alpha). The F1-optimal threshold is chosen on the test slices themselves (optimistic, "
        "as reported by the paper); sensitivity and specificity use the threshold chosen on "
        "validation (97 % specificity on normal validation slices, the app's rule)."
    )
    return ["## Table 1: slice-level detection", "", *table(header, body), note, ""]


def _by_uncertainty(rows: dict[str, Any]) -> list[str]:
    p = paper.PAPER_BY_UNCERTAINTY
    body = [
        [
            "paper",
            "as published",
            fixed(p["total"]),
            fixed(p["aleatoric"]),
            fixed(p["epistemic"]),
            fixed(p["combined"]),
        ]
    ]
    for name, row in rows.items():
        b = row.get("by_uncertainty")
        if not b or name not in ("bundled", "paper", "fast"):
            continue
        for kind, what in (("as_score", "U as score"), ("error_over", "error / U")):
            body.append(
                [
                    paper.label(name),
                    what,
                    fixed(b[kind]["total"]),
                    fixed(b[kind]["aleatoric"]),
                    fixed(b[kind]["epistemic"]),
                    fixed(b["combined"]),
                ]
            )
    header = ["", "score", "total", "aleatoric", "epistemic", "combined (eq. 15)"]
    note = (
        '"U as score": a slice\'s mean uncertainty used as its anomaly score (our reading of '
        'the paper\'s table); "error / U": the squared error divided by that uncertainty only.'
    )
    return ["## ROC AUC by uncertainty type", "", *table(header, body), note, ""]


def _comparison(rows: dict[str, Any], names: Sequence[str], base: str, title: str) -> list[str]:
    base_auc = None if verdict(base, rows) else number(get_path(rows, base, "detection", "roc_auc"))
    # Whichever configuration is our base, the paper's reference is its full model.
    base_paper = paper.PAPER_TABLE1["roc_auc"]
    body = []
    for name in (base, *names):
        # Rows not run (other preset rows, or an unfinished run) still show the paper's number.
        d = get_path(rows, name, "detection") or {"roc_auc": "not run", "pr_auc": None}
        if verdict(name, rows):
            d = {"roc_auc": verdict(name, rows), "pr_auc": None}
        ref = base_paper if name == base else paper.paper_auc(name)
        source = "paper, full model" if name == base else paper.ROWS.get(name, ("", None, ""))[2]
        body.append(
            [
                paper.label(name) + (" (base)" if name == base else ""),
                fixed(d["roc_auc"]),
                fixed(d["pr_auc"]),
                delta(number(d["roc_auc"]), base_auc),
                fixed(ref),
                delta(ref, base_paper) if name != base else DASH,
                source,
            ]
        )
    if title.startswith("Baselines"):
        for method, auc in paper.NOT_RUN.items():
            body.append([method, "not run", DASH, DASH, fixed(auc), DASH, "paper comparison"])
    header = ["", "ROC AUC", "PR AUC", "Δ vs base", "paper ROC AUC", "paper Δ", "paper source"]
    note = (
        f"Base: our {base} configuration; ablations switch one part off it, baselines share "
        "its convolutional backbone without attention. The paper switches parts off its "
        "paper configuration."
    )
    return [f"## {title}", "", *table(header, body), note, ""]


def _speed(rows: dict[str, Any]) -> list[str]:
    body = []
    for name, row in rows.items():
        t, s = row.get("training") or {}, row.get("speed") or {}
        d = row.get("detection") or {}
        if verdict(name, rows):
            d = {"roc_auc": NOT_TRAINED, "pr_auc": NOT_TRAINED}
        body.append(
            [
                paper.label(name),
                fixed(d.get("roc_auc")),
                fixed(d.get("pr_auc")),
                fixed(row.get("parameters_m"), 2),
                fixed(skill(name, row), 2),
                str(t.get("epochs_run", DASH)),
                str(t.get("steps", DASH)),
                str(t.get("stopped", DASH)),
                fixed(t.get("seconds"), 0),
                fixed(s.get("s_per_volume"), 2),
                fixed(s.get("engine_s_per_volume"), 2),
            ]
        )
    header = [
        "",
        "ROC AUC",
        "PR AUC",
        "parameters (M)",
        "reconstruction skill",
        "epochs",
        "steps",
        "stopped by",
        "training s",
        "s / volume (scoring loop)",
        "s / volume (app engine)",
    ]
    note = (
        "Seconds per volume are measured in this run on this machine: the scoring loop's time "
        "per brain slice times the mean number of brain slices in a test volume, and for the "
        "VAE rows the app's InferenceEngine on whole test volumes. A row that reuses another "
        "row's network (no epistemic sampling, test-time augmentation) repeats its training. "
        "Reconstruction skill: 1 - median(error / error of a flat image at the slice's mean) "
        "on normal test slices, like R^2: 1 is perfect; at 0 or below the network reconstructs "
        "no better than that flat image (not trained enough, or collapsed). Stopped by: "
        '"plateau" (the stopping rule), or the cap that ended training first ("cap: '
        'epochs", "cap: steps", "cap: wall").'
    )
    return ["## Training and speed of every row", "", *table(header, body), note, ""]


def _paper_vs_fast(rows: dict[str, Any]) -> list[str]:
    """The two configurations side by side: is the faster one any worse?"""
    if "paper" not in rows or "fast" not in rows:
        return []
    body = []
    for name in ("paper", "fast"):
        row = rows[name]
        d, s, t = row.get("detection", {}), row.get("speed", {}), row.get("training") or {}
        a = get_path(row, "abstention", "by", "uncertainty") or {}
        body.append(
            [
                paper.label(name),
                fixed(d.get("roc_auc")),
                fixed(d.get("pr_auc")),
                fixed(a.get("aurc"), 4),
                str(t.get("steps", DASH)),
                fixed(s.get("engine_s_per_volume"), 2),
                fixed(s.get("s_per_volume"), 2),
            ]
        )
    header = ["", "ROC AUC", "PR AUC", "AURC, by uncertainty", "training steps",
              "s / volume (app engine)", "s / volume (scoring loop)"]  # fmt: skip
    lines = ["## Paper vs fast configuration (same data, same stopping rule)", "",
             *table(header, body)]  # fmt: skip
    slow = number(get_path(rows, "paper", "speed", "engine_s_per_volume"))
    fast = number(get_path(rows, "fast", "speed", "engine_s_per_volume"))
    if slow and fast:
        lines += [f"The fast configuration analyses a volume {slow / fast:.1f} times as fast.", ""]
    return lines


def skill(name: str, row: dict[str, Any]) -> float | None:
    """A row's reconstruction skill, where its score is a reconstruction error at all."""
    return None if name in paper.NOT_RECONSTRUCTION else number(row.get("reconstruction_skill"))


def _not_trained(rows: dict[str, Any]) -> list[str]:
    """Rows whose network did not learn to reconstruct: they are no result."""
    weak = [f"{paper.label(name)} ({value:.2f})" for name, value in not_trained(rows).items()]
    if not weak:
        return []
    return [
        "## Not trained",
        "",
        f"Reconstruction skill below {paper.COLLAPSED_SKILL}: {', '.join(weak)}. These networks "
        "reconstruct a normal slice about as well as a flat image at its mean brightness, or "
        "worse (a collapsed one returns a black image and lets its variance head explain the "
        "slice), so their ROC AUC would mostly rank slices by brightness. The tables show them "
        "as not trained and no section counts them as a result; their numbers stay in "
        "metrics.json, with the training record that says how far they got.",
        "",
    ]


def render_report(metrics: dict[str, Any]) -> str:
    """The markdown report for a metrics.json dict (partial runs included)."""
    rows: dict[str, Any] = metrics.get("rows", {})
    counted = results(rows)  # every section of results leaves the not trained rows out
    base = metrics.get("preset", {}).get("base", "paper")
    lines = _header(metrics)
    lines += _not_trained(rows)
    lines += _table1(rows)
    lines += heldout_section(counted)
    lines += _by_uncertainty(counted)
    lines += _paper_vs_fast(counted)
    lines += _comparison(rows, paper.ABLATIONS, base, "Ablations (same data, same stopping rule)")
    lines += _comparison(rows, paper.BASELINES, base, "Baselines (same data, same stopping rule)")
    lines += prob_unet_section(counted)
    lines += abstention_section(counted)
    lines += rd_section(counted)
    lines += quintile_section(counted)
    lines += _speed(rows)
    plots = metrics.get("plots", [])
    if plots:
        lines += ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]
    notes = metrics.get("notes", [])
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines).rstrip() + "\n"
