"""`bvae-viewer evaluate --robustness` (and the full preset): the robustness suite on a
model, its factors checked before anything runs."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


class RobustnessInputError(ValueError):
    """A factor or a count the suite does not have (said in one sentence)."""


def robustness_factors(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The suite's factors, checked before anything runs (None: all of them)."""
    from bvae_viewer.analysis.evaluation.robustness import plans_for

    names = None
    if args.robustness_factors is not None:
        names = tuple(n.strip() for n in args.robustness_factors.split(",") if n.strip())
    try:
        plans_for(names)
    except ValueError as exc:
        raise RobustnessInputError(str(exc)) from None
    if args.robustness_subjects < 1:
        raise RobustnessInputError("--robustness-subjects must be at least 1.")
    return names


def run_robustness_suite(args: argparse.Namespace, model_dir: Path) -> int:
    """`evaluate --robustness` (and the full preset): the suite on the given model."""
    from bvae_viewer.nn.bundle import load_bundle
    from bvae_viewer.nn.device import choose_device
    from bvae_viewer.nn.robustness import run_robustness

    names = robustness_factors(args)
    bundle = load_bundle(model_dir, device=choose_device(args.device))
    payload = run_robustness(
        bundle, args.out, normals=args.robustness_subjects,
        tumours=max(1, args.robustness_subjects // 2), factor_names=names, seed=args.seed,
        device=args.device, cache_dir=args.robustness_cache,
        command="bvae-viewer " + shlex.join(sys.argv[1:]),
    )
    print(f"robustness: {payload['n_cases']} cases in {payload['seconds']:.0f} s; goal met per "
          f"factor {payload['goal_met']} -> {args.out}/robustness.md")
    return 0
