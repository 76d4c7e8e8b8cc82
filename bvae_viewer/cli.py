"""The `bvae-viewer` command: the app, and the analyse / synth / train / bench subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shlex
import sys
import time
from pathlib import Path

from bvae_viewer import __version__
from bvae_viewer.analysis.methods import BVAE, PROB_UNET, REVERSE_DISTILLATION
from bvae_viewer.cli_parser import SUBCOMMANDS, build_parser
from bvae_viewer.deferral_cli import run_deferral_study
from bvae_viewer.ood_cli import run_ood_study
from bvae_viewer.pacs_cli import run_pacs  # light at import: its work imports lazily
from bvae_viewer.robustness_cli import robustness_factors, run_robustness_suite

EXIT_BAD_INPUT = 2

log = logging.getLogger(__name__)


class UserError(Exception):
    """Bad input: reported as one line on stderr with exit code 2."""


def _normalise_argv(argv: list[str]) -> list[str]:
    """`bvae-viewer FILE` and `bvae-viewer --demo` mean the gui subcommand."""
    if not argv:
        return ["gui"]
    if argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "--version"):
        return argv
    return ["gui", *argv]


def _model_dir(arg: Path | None) -> Path:
    from bvae_viewer.paths import model_dir

    return arg if arg is not None else model_dir()


def _version() -> int:
    from bvae_viewer.analysis.model_info import ModelInfoError, read_model_info

    try:
        info = read_model_info(_model_dir(None))
        model = f"{info.name} {info.sha256[:12]}"
    except ModelInfoError:
        model = "no bundled model"
    print(f"bvae-viewer {__version__} (model: {model}) - research use only, not a medical device")
    return 0


def _cmd_gui(args: argparse.Namespace) -> int:
    from bvae_viewer.data.frontend import set_default_mode
    from bvae_viewer.gui.app import run_gui

    set_default_mode(args.preprocess)

    if args.file is not None and not args.file.exists():
        raise UserError(f"{args.file} does not exist.")
    return run_gui(args.file, demo=args.demo, screenshot=args.screenshot, model_dir=args.model)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from bvae_viewer.review.report_path import ReportError, check_report_path

    if args.samples < 1:
        raise UserError("--samples must be at least 1.")
    if args.members < 1 or args.views < 1:
        raise UserError("--members and --views must be at least 1.")
    if args.include_identifiers and args.report is None:
        raise UserError("--include-identifiers only applies to a --report.")
    if args.report is not None:
        try:  # before the model runs: a typo in the name must not cost the analysis
            check_report_path(args.report, keep=(args.out / "slices.csv", args.out / "case.json"))
        except ReportError as exc:
            raise UserError(str(exc)) from None
    # torch is imported only now: a mistyped option is answered at once.
    from bvae_viewer.analysis.case import write_case_outputs
    from bvae_viewer.nn.device import choose_device
    from bvae_viewer.pipeline.analyze import analyze_loaded
    from bvae_viewer.pipeline.case import load_case
    from bvae_viewer.pipeline.model import EngineOptions, load_model
    from bvae_viewer.pipeline.report import analysis_report_data

    # A bad input is reported before the model is read.
    loaded = load_case(args.input, preprocess=args.preprocess)
    device = choose_device(args.device)
    bundle = load_model(_model_dir(args.model), device=device)
    decisions, case_review = {}, None
    if args.report is not None:
        from bvae_viewer.review.store import ReviewStoreError, stored_decisions

        try:  # a reviewer's decisions on this case and model, made in the window
            decisions, case_review = stored_decisions(loaded.fingerprint, bundle.info.sha256)
        except ReviewStoreError as exc:
            print(f"bvae-viewer: warning: {exc} The report has no reviewer decisions.",
                  file=sys.stderr)
    analysis = analyze_loaded(
        loaded, bundle, device=args.device, samples=args.samples,
        keep_maps=args.report is not None, decided=decisions.keys(), use_cache=not args.no_cache,
        options=EngineOptions(members=args.members, views=args.views),
    )
    result = analysis.result
    write_case_outputs(result, args.out)
    if args.report is not None:
        from bvae_viewer.gui.report_writer import write_report

        data = analysis_report_data(analysis, bundle.info, decisions, case_review)
        try:
            write_report(data, args.report, include_identifiers=args.include_identifiers)
        except ReportError as exc:
            raise UserError(str(exc)) from None
    print(
        f"{result.extra['source']}: {result.case.decision.value}"
        + (f" ({'; '.join(result.case.reasons)})" if result.case.reasons else "")
        + f" -> {args.out}"
        + (f", report {args.report}" if args.report is not None else "")
    )
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    try:
        from bvae_viewer.data.synth import synthesize
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UserError(f"Synthesis needs the 'synth' extra (nilearn): {exc}.") from exc
    if args.cases < 1:
        raise UserError("--cases must be at least 1.")

    def progress(done: int, total: int) -> None:
        print(f"\rsynthesising: {done}/{total}", end="", file=sys.stderr, flush=True)

    manifest = synthesize(
        args.out,
        cases=args.cases,
        seed=args.seed,
        workers=args.workers,
        healthy_fraction=args.healthy_fraction,
        progress=progress,
        variety=args.variety,
    )
    print(file=sys.stderr)
    print(f"wrote {args.cases} cases to {args.out} (manifest: {manifest})")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from bvae_viewer.nn.config import ModelConfig
    from bvae_viewer.nn.train import TrainOptions

    if args.method != BVAE and (args.resume or args.init_from is not None):
        raise UserError("--resume and --init-from apply to the bvae method only.")
    if args.width < 1:
        raise UserError("--width must be at least 1.")
    if not 0.0 <= args.denoise < 1.0:
        raise UserError(f"--denoise must be a standard deviation in [0, 1), not {args.denoise}.")
    if not 0.0 <= args.nll_power <= 1.0:
        raise UserError(f"--nll-power must lie in [0, 1], not {args.nll_power}.")
    options = TrainOptions(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        patience=args.patience,
        lr_warmup_steps=args.lr_warmup_steps,
        seed=args.seed,
        time_budget_s=args.time_budget,
        device=args.device,
        denoise_std=args.denoise,
        nll_power=args.nll_power,
        select_on=args.select_on,
    )
    command = "bvae-viewer " + shlex.join(sys.argv[1:])
    if args.method == BVAE:
        from bvae_viewer.nn.training_run import train_bundle

        config = ModelConfig.paper() if args.config == "paper" else ModelConfig.fast()
        info = train_bundle(
            args.data,
            args.out,
            config,
            options,
            name=args.name or f"bvae-{args.config}",
            command=command,
            resume=args.resume,
            init_from=args.init_from,
        )
    else:
        from bvae_viewer.nn import method_training as mt

        train, make_config = {
            REVERSE_DISTILLATION: (mt.train_rd_bundle, mt.rd_config),
            PROB_UNET: (mt.train_prob_unet_bundle, mt.prob_unet_config),
        }[args.method]
        info = train(
            args.data, args.out, make_config(args.width), options,
            name=args.name or f"{args.method}-w{args.width}", command=command,
        )  # fmt: skip
    if info is not None:
        test = info.metrics.get("test", {})
        print(
            f"saved {info.name} ({info.short_hash}) to {args.out}; "
            f"test ROC AUC {test.get('roc_auc')}"
        )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.deferral_test:  # the review-order study (deferral_cli.py)
        return run_deferral_study(args, _model_dir(args.model))
    if args.ood_test:  # ensemble disagreement against today's checks (ood_cli.py)
        return run_ood_study(args, _model_dir(args.model))
    robustness_factors(args)  # a typo is answered before a long evaluation
    if args.data is None:
        if not args.robustness:
            raise UserError("evaluate needs --data (or --robustness, which makes its own).")
        return run_robustness_suite(args, _model_dir(args.model))
    code = _evaluate_data(args)
    if code == 0 and (args.robustness or args.preset == "full"):
        code = run_robustness_suite(args, _model_dir(args.model))
    return code


def _evaluate_data(args: argparse.Namespace) -> int:
    from bvae_viewer.nn.evaluate import run_evaluate
    from bvae_viewer.nn.evaluation.preset import GROUPS

    groups = None
    if args.groups is not None:
        groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
        unknown = [g for g in groups if g not in GROUPS]
        if unknown or not groups:
            raise UserError(
                f"Unknown evaluation group(s) {', '.join(unknown) or '(none given)'}: "
                f"choose from {', '.join(GROUPS)}."
            )
    if args.budget is not None and not 0 < args.budget < float("inf"):
        raise UserError(f"--budget must be a positive number of seconds, not {args.budget}.")
    return run_evaluate(
        args.data, args.out, _model_dir(args.model), preset=args.preset, device=args.device,
        seed=args.seed, groups=groups, budget_s=args.budget, resume=args.resume,
    )


def _cmd_bench(args: argparse.Namespace) -> int:
    from bvae_viewer.nn.bench import run_bench
    from bvae_viewer.nn.bundle import load_bundle

    bundle = load_bundle(_model_dir(args.model), device="cpu")
    if bundle.method != BVAE and (args.compare_paper or args.training):
        raise UserError(
            "--compare-paper and --training time the Bayesian VAE only; this model is "
            f"{bundle.method}."
        )
    if args.engine_options and bundle.method != BVAE:
        raise UserError(f"--engine-options are options of the Bayesian VAE; this model is "
                        f"{bundle.method}.")
    if args.engine_options:
        from bvae_viewer.nn.bench import compare_options

        figures = compare_options(bundle, device=args.device, samples=args.samples)
    elif args.compare_paper:
        from bvae_viewer.nn.bench import compare_configs
        from bvae_viewer.nn.config import ModelConfig

        figures = compare_configs(
            bundle, {"paper": ModelConfig.paper()}, device=args.device, samples=args.samples
        )
    else:
        figures = run_bench(
            bundle, device=args.device, samples=args.samples, training=args.training,
            frontend=True,
        )
    if args.gui:  # the window on the same volume, in the same run: the two compare
        from bvae_viewer.gui.app import window_figures
        from bvae_viewer.nn.bench import synthetic_stack

        stack = synthetic_stack(size=bundle.image_size)
        window = window_figures(_model_dir(args.model), bundle, stack, args.device, args.samples)
        engine = figures.get("bundled", figures)
        window["slower_than_engine"] = round(window["wall_seconds"] / engine["volume_seconds"], 3)
        figures["window"] = window
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


# Errors whose message is written for the user, by module; a module not yet imported cannot
# have raised one, so torch is never imported just to report a typo.
_USER_ERRORS = {
    "bvae_viewer.io.errors": ("VolumeError",),
    "bvae_viewer.data.brats": ("DatasetError",),
    "bvae_viewer.data.frontend.template": ("TemplateMissingError",),
    "bvae_viewer.data.synth.anatomy": ("SynthError",),
    "bvae_viewer.analysis.model_info": ("ModelInfoError",),
    "bvae_viewer.analysis.deferral": ("DeferralError",),
    "bvae_viewer.ood_cli": ("OodStudyError",),
    "bvae_viewer.robustness_cli": ("RobustnessInputError",),
    "bvae_viewer.analysis.evaluation.store": ("ResumeError",),
    "bvae_viewer.review.store": ("ReviewStoreError",),
    "bvae_viewer.review.report_path": ("ReportError",),
    "bvae_viewer.nn.bundle": ("WeightsError",),
    "bvae_viewer.nn.device": ("DeviceError",),
    "bvae_viewer.nn.engine": ("EngineError",),
    "bvae_viewer.nn.train": ("TrainingError",),
    "bvae_viewer.pacs.errors": ("PacsError",),
}


def _user_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose message is written for the user (bad input, not a bug)."""
    errors: list[type[Exception]] = [UserError]
    for module_name, names in _USER_ERRORS.items():
        module = sys.modules.get(module_name)
        errors += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(_normalise_argv(argv))
    if args.version:
        return _version()
    from bvae_viewer.logs import setup_logging

    setup_logging()
    log.info("bvae-viewer %s: %s (python %s, %s)", __version__,
             shlex.join(["bvae-viewer", *argv]), platform.python_version(),
             platform.platform(terse=True))
    start = time.perf_counter()
    try:
        code = _dispatch(args)
    except Exception:  # a bug: the user sees Python's traceback, the log keeps it too
        log.exception("%s crashed after %.1f s", args.command, time.perf_counter() - start)
        raise
    log.info("%s finished with exit code %d in %.1f s", args.command, code,
             time.perf_counter() - start)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand; user errors become one line on stderr and exit code 2."""
    handlers = {
        "gui": _cmd_gui,
        "analyze": _cmd_analyze,
        "synth": _cmd_synth,
        "train": _cmd_train,
        "evaluate": _cmd_evaluate,
        "bench": _cmd_bench,
        "pacs": lambda a: run_pacs(a, _model_dir(getattr(a, "model", None))),
    }
    try:
        return handlers[args.command](args)
    except _user_errors() as exc:
        # The traceback goes to the log only: it tells an engineer where the check fired.
        log.warning("%s refused: %s", args.command, exc, exc_info=True)
        print(f"bvae-viewer: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        log.warning("%s interrupted", args.command)
        print("bvae-viewer: interrupted", file=sys.stderr)
        return 130
