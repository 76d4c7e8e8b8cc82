"""`bvae-viewer evaluate --data VAL --deferral-test DIR [DIR ...]`: what should order the
review queue, measured on held-out subjects through the app's own engine and triage (the
table of model/EVALUATION.md part 6); `--store-error-model` writes the queue's calibrated
error probability into the model folder's model.json."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path


def run_deferral_study(args: argparse.Namespace, model_dir: Path) -> int:
    from bvae_viewer.analysis.deferral import DeferralError
    from bvae_viewer.analysis.evaluation import deferral_study as study
    from bvae_viewer.analysis.evaluation.store import write_atomic
    from bvae_viewer.analysis.model_info import write_model_info
    from bvae_viewer.analysis.triage import TriagePolicy
    from bvae_viewer.nn.bundle import load_bundle
    from bvae_viewer.nn.evaluation.deferral_signals import collect_signals

    folders = [args.data, *args.deferral_test]
    missing = [str(f) for f in folders if not Path(f).is_dir()]
    if missing:
        raise DeferralError(f"No such folder of cases: {', '.join(missing)}.")
    if args.deferral_cases < 1:
        raise DeferralError("--deferral-cases must be at least 1.")
    bundle = load_bundle(model_dir, device="cpu")
    policy = TriagePolicy.from_calibration(bundle.info.calibration)

    def say(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def signals(where: list[Path]) -> dict:
        found = collect_signals(where, bundle, args.deferral_cases, args.device,
                                args.deferral_samples, say=say)
        return study.with_errors(found, policy)

    val, test = signals([args.data]), signals(list(args.deferral_test))
    rows = study.table(test, study.orders(val, test, policy), n_boot=args.deferral_boot)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": "bvae-viewer " + shlex.join(sys.argv[1:]),
        "model": f"{bundle.info.name} ({bundle.info.short_hash})",
        "val_slices": int(val["err"].size), "test_slices": int(test["err"].size),
        "test_error_rate": float(test["err"].mean()), "rows": rows,
    }
    write_atomic(args.out / "deferral.json", json.dumps(payload, indent=1) + "\n")
    write_atomic(args.out / "deferral.md", study.markdown(rows) + "\n")
    print(study.markdown(rows))
    if args.store_error_model:
        model = study.queue_error_model(val, policy).to_dict()
        model["review_budget"] = round(study.review_share(val, policy), 4)
        subjects = len(set(val["subject"].tolist()))
        model["fitted_on"] = (f"{val['err'].size} brain slices of {subjects} validation "
                              f"subjects ({args.data.name}), bvae-viewer evaluate --deferral-test")
        write_model_info(model_dir, replace(bundle.info, error_model=model))
        print(f"stored the queue's error model in {model_dir / 'model.json'}")
    return 0
