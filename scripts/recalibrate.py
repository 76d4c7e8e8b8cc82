"""Re-run calibration and the test metrics of a trained model, keeping its weights.

Usage: python scripts/recalibrate.py MODEL_DIR DATA_DIR OUT_DIR [--extra-validation DIR ...]

For a scoring or triage change (such as choosing eq. 15's A_pixel reduction, or a new case
rule) that needs no retraining. The validation and test cases are those model.json lists,
looked up by ID in DATA_DIR; cases not found there are left out and counted in model.json.
``--extra-validation`` adds every case of another folder (subjects the model never trained
on) to the validation cases: the case rules learn from whole subjects, and a training run's
validation split may hold only a handful of healthy ones. The weights file is copied unchanged,
so the sha256 stays; training history and options stay as they were.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from bvae_viewer.analysis.calibrate import calibrate
from bvae_viewer.analysis.model_info import write_model_info
from bvae_viewer.data.brats import find_cases
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.training_run import evaluate_cases, load_cases, split_metrics


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--extra-validation", type=Path, action="append", default=[])
    args = parser.parse_args()
    start = time.perf_counter()
    bundle = load_bundle(args.model)
    listed = bundle.info.training["cases"]
    found = {c.case_id: c for c in find_cases(args.data)}
    parts = {p: [found[i] for i in listed[p] if i in found] for p in ("val", "test")}
    found_counts = {p: f"{len(parts[p])} of {len(listed[p])}" for p in parts}
    training_data = Path(bundle.info.training.get("data", args.data)).resolve()
    extra = {}
    for folder in args.extra_validation:
        if folder.resolve() in (args.data.resolve(), training_data):
            raise SystemExit(f"{folder} holds the model's training cases.")
        extra[str(folder)] = find_cases(folder)
        parts["val"] += extra[str(folder)]
    engine = InferenceEngine(bundle, device=args.device, samples=5)
    val = evaluate_cases(engine, load_cases(parts["val"], "validation"))
    calibration = calibrate(val)
    test = evaluate_cases(engine, load_cases(parts["test"], "test"))
    a, r = calibration.alpha, calibration.reduction
    training = dict(bundle.info.training)
    training["recalibration"] = {
        "command": "python scripts/recalibrate.py " + " ".join(sys.argv[1:]),
        "data": str(args.data),
        "cases_found": found_counts,
        "extra_validation": {folder: len(cases) for folder, cases in extra.items()},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "previous": {
            "alpha": bundle.info.calibration.alpha,
            "reduction": bundle.info.calibration.reduction,
            "metrics": {
                k: {m: v for m, v in bundle.info.metrics.get(k, {}).items() if m != "slices"}
                for k in ("validation", "test")
            },
        },
    }
    info = replace(
        bundle.info,
        calibration=calibration,
        metrics={
            "validation": split_metrics(val, a, r, keep_slices=True),
            "test": split_metrics(test, a, r),
        },
        training=training,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.model / bundle.info.weights_file, args.out / info.weights_file)
    write_model_info(args.out, info)
    load_bundle(args.out)  # the copy verifies against the recorded sha256
    print(
        f"{args.out}: reduction {r}, alpha {a}; validation ROC AUC "
        f"{info.metrics['validation']['roc_auc']:.3f}, test {info.metrics['test']['roc_auc']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
