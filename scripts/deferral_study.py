"""Which signals order the review queue better than the score margin? (issue 20)

Usage: python scripts/deferral_study.py --val DIR --test DIR [DIR ...] [--cases N]
       [--model DIR] [--out FILE.json]

DIR: BraTS-layout folders (`bvae-viewer synth --out DIR --cases N --seed S`). For every brain
slice of the first N cases of each folder, the app's own engine gives the shipped score (peak
reduction) and uncertainty of the single model, and the score spread over 3 geometric
test-time views (nn.voices). Error-probability models (analysis.deferral) are fitted on the
validation folder and every order is measured on the test folders: AURC with subject-bootstrap
intervals, E-AURC, error at 80/90 % coverage, abnormal slices sent to review at 10/20 %
review, and the paired AURC gain over the margin. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.deferral import LOG_MARGIN, fit_error_model, log_margin
from bvae_viewer.analysis.evaluation.abstention import (
    excess_aurc,
    risk_coverage,
    selective_metrics,
)
from bvae_viewer.analysis.evaluation.bootstrap import aurc_gain, aurc_intervals
from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.data.brats import find_cases, load_case
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.voices import EngineOptions

MARGIN = "score margin -|log(s/t)|"


def collect(folders: list[Path], model: Path, n_cases: int) -> dict[str, np.ndarray]:
    bundle = load_bundle(model)
    single = InferenceEngine(bundle, device="cpu", samples=5)
    views = InferenceEngine(bundle, device="cpu", samples=5, options=EngineOptions(views=3))
    rows: dict[str, list] = {k: [] for k in ("subject", "label", "score", "unc", "view_spread")}
    for folder in folders:
        for case in find_cases(folder)[:n_cases]:
            loaded = load_case(case)
            a = sorted(single.run(loaded.stack), key=lambda r: r.position)
            b = sorted(views.run(loaded.stack), key=lambda r: r.position)
            for r, v in zip(a, b, strict=True):
                if r.scores.empty:
                    continue
                rows["subject"].append(f"{folder.name}/{case.case_id}")
                rows["label"].append(bool(loaded.labels[r.position]))
                rows["score"].append(r.scores.anomaly_score)
                rows["unc"].append(r.scores.unc_total)
                rows["view_spread"].append(v.scores.score_spread)
            print(f"{folder.name}/{case.case_id}", flush=True)
    return {k: np.asarray(v) for k, v in rows.items()}


def signals(d: dict[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    return {LOG_MARGIN: log_margin(d["score"], threshold), "view_spread": d["view_spread"],
            "log_unc": np.log(d["unc"])}


def orders(val, test, policy: TriagePolicy) -> dict[str, np.ndarray]:
    t = policy.score_threshold
    sv, st = signals(val, t), signals(test, t)
    review_now = (test["unc"] > policy.uncertainty_threshold) | policy.near_line_mask(
        test["score"])
    out = {
        "random": np.random.default_rng(0).random(test["err"].size),
        "mean total uncertainty": test["unc"],
        "view spread (3 TTA views)": np.nan_to_num(test["view_spread"]),
        MARGIN: -st[LOG_MARGIN],
        "today's policy (band + uncertainty threshold, then margin)":
            review_now * 10.0 - st[LOG_MARGIN],
    }
    for label, features in (("margin", (LOG_MARGIN,)),
                            ("margin + view spread", (LOG_MARGIN, "view_spread")),
                            ("margin + uncertainty", (LOG_MARGIN, "log_unc"))):
        model = fit_error_model(sv, val["err"], features)
        out[f"error probability ({label})"] = model.probability(st)
    out["oracle"] = test["err"].astype(float)
    return out


def table(test, pri: dict[str, np.ndarray]) -> list[dict]:
    err, subjects = test["err"], test["subject"]
    ci = aurc_intervals(err, pri, subjects, n_boot=1000)
    rows = []
    for name, p in pri.items():
        rc = risk_coverage(err, p)
        n = len(rc.risk)
        gain = None if name == "oracle" else aurc_gain(err, p, pri[MARGIN], subjects)
        rows.append({
            "order": name, "aurc": ci[name].value, "aurc_ci": [ci[name].low, ci[name].high],
            "e_aurc": excess_aurc(err, p),
            "error_at_80": float(rc.risk[int(0.8 * n) - 1]),
            "error_at_90": float(rc.risk[int(0.9 * n) - 1]),
            "abnormal_to_review_10":
                selective_metrics(test["label"], test["pred"], p, 0.10).abnormal_in_review,
            "abnormal_to_review_20":
                selective_metrics(test["label"], test["pred"], p, 0.20).abnormal_in_review,
            "gain_vs_margin": None if gain is None else [gain.value, gain.low, gain.high],
        })
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| order | AURC (95 % CI) | E-AURC | error @80 % coverage | @90 % | abnormal "
             "to review @10 % review | @20 % | AURC gain over the margin (95 % CI) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r["gain_vs_margin"]
        gain = "—" if g is None else f"{g[0]:+.4f} ({g[1]:+.4f}, {g[2]:+.4f})"
        lines.append(
            f"| {r['order']} | {r['aurc']:.3f} ({r['aurc_ci'][0]:.3f}-{r['aurc_ci'][1]:.3f}) "
            f"| {r['e_aurc']:.3f} | {r['error_at_80']:.3f} | {r['error_at_90']:.3f} "
            f"| {r['abnormal_to_review_10']:.2f} | {r['abnormal_to_review_20']:.2f} | {gain} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--test", type=Path, nargs="+", required=True)
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--model", type=Path, default=Path(__file__).parents[1] / "model")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    policy = TriagePolicy.from_calibration(load_bundle(args.model).info.calibration)
    val = collect([args.val], args.model, args.cases)
    test = collect(args.test, args.model, args.cases)
    for d in (val, test):
        d["pred"] = d["score"] > policy.score_threshold
        d["err"] = d["pred"] != d["label"]
    rows = table(test, orders(val, test, policy))
    print(markdown(rows))
    if args.out:
        args.out.write_text(json.dumps({
            "val_slices": int(val["err"].size), "test_slices": int(test["err"].size),
            "test_error_rate": float(test["err"].mean()), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
