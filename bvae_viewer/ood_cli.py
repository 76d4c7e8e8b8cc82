"""`bvae-viewer evaluate --data HELD_OUT --ood-test INPUT [INPUT ...]`: does the ensemble's
disagreement tell brains unlike the training data from held-out subjects better than the
checks the app makes today? Every volume goes through the app's own loading, front end,
engine (with ``--members`` ensemble members) and triage; the table goes to OUT/ood.md
(analysis.evaluation.ood_study)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


class OodStudyError(ValueError):
    """The study's inputs are missing or unusable (said in one sentence)."""


def _kind(path: Path) -> str:
    """The kind of an out-of-distribution input: its name without its format suffix and
    without a trailing number, so noise_1.nii and noise_2.nii are two inputs of one kind."""
    from bvae_viewer.review.report_names import volume_stem

    name = volume_stem(path.name)
    stem, _, number = name.rpartition("_")
    return stem if stem and number.isdigit() else name


def run_ood_study(args: argparse.Namespace, model_dir: Path) -> int:
    from bvae_viewer.analysis.evaluation import ood_study as study
    from bvae_viewer.analysis.evaluation.store import write_atomic
    from bvae_viewer.data.brats import find_cases
    from bvae_viewer.nn.bundle import load_bundle
    from bvae_viewer.nn.voices import EngineOptions
    from bvae_viewer.pipeline.analyze import analyze_loaded
    from bvae_viewer.pipeline.case import load_case
    from bvae_viewer.pipeline.model import open_engine

    if args.data is None or not Path(args.data).is_dir():
        raise OodStudyError("--ood-test needs --data, a folder of held-out subjects.")
    missing = [str(p) for p in args.ood_test if not Path(p).exists()]
    if missing:
        raise OodStudyError(f"No such input: {', '.join(missing)}.")
    bundle = load_bundle(model_dir, device="cpu")
    options = EngineOptions(members=args.members)
    # The engine's own check refuses too many --members in one sentence, before any volume.
    open_engine(bundle, device=args.device, options=options)
    inputs = [(c.image, study.IN_DISTRIBUTION) for c in find_cases(args.data)[: args.ood_cases]]
    inputs += [(Path(p), _kind(Path(p))) for p in args.ood_test]
    records = []
    for n, (path, kind) in enumerate(inputs, 1):
        print(f"  {n}/{len(inputs)} {kind}: {path.name}", file=sys.stderr, flush=True)
        analysis = analyze_loaded(load_case(path), bundle, device=args.device,
                                  use_cache=False, options=options)
        result = analysis.result
        signals = study.volume_signals(result.features, result.scores,
                                       bundle.info.calibration.ood)
        records.append(study.VolumeRecord(path.name, kind, signals))
    rows = study.table(records)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": "bvae-viewer " + shlex.join(sys.argv[1:]),
        "model": f"{bundle.info.name} ({bundle.info.short_hash})",
        "engine_options": options.label,
        "volumes": [{"name": r.name, "kind": r.kind, "signals": r.signals} for r in records],
        "rows": rows,
    }
    text = study.markdown(records, rows)
    write_atomic(args.out / "ood.json", json.dumps(payload, indent=1) + "\n")
    write_atomic(args.out / "ood.md", text + "\n")
    print(text)
    return 0
